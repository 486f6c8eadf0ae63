// Sends one PUSH_DATA through the npm `packet-forwarder` package and exits 0 once the server
// acknowledged it (the package resolves sendUplink only on a reply with the same token).
// Usage: node send_uplink.js HOST PORT GATEWAY_EUI_HEX  (the rxpk JSON message on stdin)
const PacketForwarder = require('packet-forwarder')

async function main () {
  const [target, port, gateway] = process.argv.slice(2)
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const message = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const forwarder = new PacketForwarder({ gateway, target, port: Number(port), clientUdpPort: 0 })
  const timer = setTimeout(() => { console.error('no PUSH_ACK'); process.exit(3) }, 20000)
  await forwarder.sendUplink(message)
  clearTimeout(timer)
  await forwarder.close()
  console.log('acked')
}

main().catch(err => { console.error(err.message); process.exit(4) })
