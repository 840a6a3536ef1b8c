import { login, loginRedirectInside } from '../actions'

export const dynamic = 'force-dynamic'

export default function LoginPage() {
  return (
    <main>
      <h1>Sign in</h1>
      <form action={login} id="login">
        <label>
          user name <input name="user" required />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <form action={loginRedirectInside} id="login-inside">
        <input name="user" defaultValue="corro" />
        <button type="submit">Sign in (redirect inside)</button>
      </form>
    </main>
  )
}
