export { RedisStore } from './store.js'
export type { RedisStoreOptions } from './store.js'
export type { RedisClientLike, NodeRedisClientLike, NodeRedisClusterLike, IoRedisLike } from './client.js'
export type { RedisDurability } from './durability.js'
