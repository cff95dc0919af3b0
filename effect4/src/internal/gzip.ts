/**
 * Gzip through the web-standard `CompressionStream` (Node 18+, Deno, Bun, browsers): a maintained
 * native implementation (zlib under Node) without a platform-specific import in the core.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/** @internal */
export const gzip = (data: Uint8Array): Effect.Effect<Uint8Array, unknown> =>
  Effect.tryPromise({
    try: async () => {
      const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"))
      const reader = stream.getReader()
      const chunks: Array<Uint8Array> = []
      let total = 0
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        chunks.push(value)
        total += value.length
      }
      const out = new Uint8Array(total)
      let offset = 0
      for (const chunk of chunks) {
        out.set(chunk, offset)
        offset += chunk.length
      }
      return out
    },
    catch: (cause) => cause
  })
