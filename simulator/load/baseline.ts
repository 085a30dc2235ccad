// The reference a load test compares the gateway with: a bare aedes broker (no authentication,
// validation or durability), started by the load test itself on a free loopback port.
import net from 'node:net'
import { Aedes } from 'aedes'

export async function startBareBroker (): Promise<{ url: string, close: () => Promise<void> }> {
  const broker = await Aedes.createBroker()
  const server = net.createServer((socket) => { broker.handle(socket) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: async () => {
      await new Promise<void>((resolve) => { server.close(() => resolve()) })
      await new Promise<void>((resolve) => { broker.close(() => resolve()) })
    }
  }
}
