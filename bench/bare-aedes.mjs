// The baseline broker: aedes 1.x with no authentication, validation or persistence beyond its
// in-memory default. Prints its port, then serves until SIGTERM.
import net from 'node:net'
import { Aedes } from 'aedes'

const broker = await Aedes.createBroker()
const server = net.createServer(broker.handle)
server.listen(0, '127.0.0.1', () => { console.log(`ready mqtt://127.0.0.1:${server.address().port}`) })
process.on('SIGTERM', () => { server.close(); broker.close(() => process.exit(0)) })
