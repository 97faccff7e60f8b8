// cluster-key-slot ships no types; it is the slot function ioredis itself routes Cluster commands by
declare module 'cluster-key-slot' {
  /** the Redis Cluster hash slot (0..16383) of a key, honouring `{hash tags}` */
  function calculateSlot(key: string | Buffer): number
  export default calculateSlot
}
