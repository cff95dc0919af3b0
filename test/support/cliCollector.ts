/**
 * A tiny `/v1/batch` collector for the CLI tests: listens on 127.0.0.1 on an ephemeral port, stores the
 * messages of every request it answers 200, and can be told to answer every request with an error
 * status (to test the failures file) and to recover.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Zlib from "node:zlib"

export interface CliCollector {
  /** `http://127.0.0.1:PORT`, to pass as `--host`. */
  readonly url: string
  /** Messages of the requests answered 200, in arrival order. */
  readonly messages: Array<Record<string, unknown>>
  /** Every request: its status, headers and message count. */
  readonly requests: Array<{ status: number; headers: Http.IncomingHttpHeaders; count: number }>
  /** Answer every request with this status from now on (200 to recover). */
  failWith(status: number): void
  clear(): void
  close(): Promise<void>
}

export const startCliCollector = (): Promise<CliCollector> =>
  new Promise((resolve, reject) => {
    const messages: Array<Record<string, unknown>> = []
    const requests: Array<{ status: number; headers: Http.IncomingHttpHeaders; count: number }> = []
    let status = 200
    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        let count = 0
        let answer = status
        try {
          let body = Buffer.concat(chunks)
          if (req.headers["content-encoding"] === "gzip") body = Zlib.gunzipSync(body)
          const parsed = JSON.parse(body.toString("utf8")) as { batch: Array<Record<string, unknown>> }
          count = parsed.batch.length
          if (answer === 200) messages.push(...parsed.batch)
        } catch {
          answer = 400
        }
        requests.push({ status: answer, headers: req.headers, count })
        res.writeHead(answer, { "content-type": "application/json" })
        res.end(answer === 200 ? "{\"success\":true}" : "{\"success\":false}")
      })
    })
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        messages,
        requests,
        failWith: (code) => {
          status = code
        },
        clear: () => {
          messages.length = 0
          requests.length = 0
        },
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
