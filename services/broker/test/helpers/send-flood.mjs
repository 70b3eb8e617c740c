// A SEND flooder in its own process, so that its work does not disturb the latency measured by the
// test process. Usage: node send-flood.mjs <tcpPort> <destination>. Reads commands on stdin, one a
// line: "start" opens a TCP connection, CONNECTs and writes SEND frames as fast as the socket takes
// them; "stop" destroys that connection (dropping whatever the kernel still holds for it). Prints
// "started" once CONNECTED, "stopped <frames written>" after a stop.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const [port, destination] = process.argv.slice(2);
const SEND = Buffer.from(`SEND\ndestination:${destination}\ncontent-type:text/plain\n\n${'f'.repeat(64)}\0`);
const BATCH = Buffer.concat(Array(256).fill(SEND));
let socket;
let written = 0;

function flood() {
  while (socket !== undefined && !socket.destroyed) {
    written += 256;
    if (!socket.write(BATCH)) return;
  }
}

function start() {
  written = 0;
  const s = connect(Number(port), '127.0.0.1');
  socket = s;
  s.on('error', () => {});
  s.once('data', (d) => {
    if (!d.toString().startsWith('CONNECTED')) {
      console.log(`refused ${d.toString().split('\n')[0]}`);
      return;
    }
    console.log('started');
    s.on('drain', flood);
    flood();
  });
  s.write('CONNECT\naccept-version:1.2\nhost:/\nheart-beat:0,0\n\n\0');
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'start') start();
  else if (line === 'stop') {
    socket?.destroy();
    socket = undefined;
    console.log(`stopped ${written}`);
  }
}).on('close', () => process.exit(0));
