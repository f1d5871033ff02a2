// Serves this folder on 127.0.0.1 (`node serve.mjs [port]`, default 8080; 0 takes a free port) and
// prints the address. A page imports ES modules only over http(s), not from a file:// page.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const port = Number(process.argv[2] ?? 8080);
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

/** The file a URL path names under the root, or null: normalised first, so '..' cannot leave the folder. */
function fileOf(pathname) {
  try {
    return path.join(root, path.posix.normalize(decodeURIComponent(pathname)).replace(/\/$/, '/index.html'));
  } catch {
    return null; // a malformed %-escape
  }
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const file = fileOf(url.pathname);
  const type = file && TYPES[path.extname(file)];
  if (!type || !file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  fs.createReadStream(file).pipe(res);
});
server.listen(port, '127.0.0.1', () => console.log(`http://127.0.0.1:${server.address().port}/`));
