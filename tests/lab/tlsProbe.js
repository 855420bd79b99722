// Opens one TLS connection as a client would and prints how the server answered: "accepted" if
// it kept the connection, otherwise the TLS alert's code. Options as JSON on stdin:
// { host, port, ca, cert?, key? }. Run by tests/lab/etcdClient.ts, inside a lab host's network
// namespace when the probe must come from that host's address.
"use strict";
const tls = require("tls");

let input = "";
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
    const o = JSON.parse(input);
    const socket = tls.connect({ host: o.host, port: o.port, ca: o.ca, cert: o.cert, key: o.key, ALPNProtocols: ["h2"] });
    let said = false;
    const done = (outcome) => { if (said) return; said = true; socket.destroy(); process.stdout.write(outcome); };
    // With TLS 1.3 the server judges the client certificate after the client's handshake ends,
    // so wait a moment for its alert before calling the connection accepted.
    socket.once("secureConnect", () => setTimeout(() => done("accepted"), 1000));
    socket.once("error", (e) => done(e.code || e.message));
    socket.once("close", () => done("closed"));
    socket.setTimeout(10000, () => done("timeout"));
});
