// BullMQ sandboxed processor (runs in a worker thread): does nothing, like troupe's no-op task.
export default async () => undefined
