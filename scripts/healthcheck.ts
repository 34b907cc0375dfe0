import { messageOf } from '../kit/thrown.js';
/**
 * The container's health check: exits 0 when the service on this machine answers /healthz
 * with 200 within two seconds, else 1. The port is the argument, else HEALTHCHECK_PORT, else
 * the web gateway's (the image's default command); it reads nothing else, so it cannot fail
 * on the service's own configuration.
 */
const given = process.argv[2] ?? process.env.HEALTHCHECK_PORT ?? '4000';
const port = Number(given);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`healthcheck: "${given}" is not a port number\n`);
  process.exit(2);
}
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
  process.exit(response.status === 200 ? 0 : 1);
} catch (error) {
  process.stderr.write(`healthcheck: port ${port}: ${messageOf(error)}\n`);
  process.exit(1);
}
