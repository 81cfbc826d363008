/**
 * A local stand-in for the Hugging Face Hub over real HTTP (node:http on 127.0.0.1, port 0), speaking
 * the parts of the protocol huggingface_hub uses: `GET /api/models/{repo}/revision/{rev}` and
 * `HEAD/GET /{repo}/resolve/{rev}/{path}` with `x-repo-commit`, `etag`, and for LFS files
 * `x-linked-etag` (sha256) / `x-linked-size` plus a redirect to a CDN-like URL.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { join, relative, sep } from 'node:path';

export interface FakeRepo {
  commit: string;
  files: Map<string, Uint8Array>;
  /** When set, requests without `Authorization: Bearer <token>` get 401. */
  token?: string;
}

export interface RecordedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
}

const LFS = /\.(safetensors|bin|onnx|onnx_data|h5|msgpack)$/;

export const gitBlobSha1 = (b: Uint8Array): string =>
  createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex');
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
/** The etag a file is cached under, computed the way the Hub computes it. */
export const hubEtag = (path: string, b: Uint8Array): string => (LFS.test(path) ? sha256(b) : gitBlobSha1(b));

/** All files under `folder` (posix relative paths), except those `skip` rejects. */
export function folderFiles(folder: string, skip: (rel: string) => boolean = () => false): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const rel = relative(folder, p).split(sep).join('/');
        if (!skip(rel)) out.set(rel, readFileSync(p));
      }
    }
  };
  walk(folder);
  return out;
}

export class FakeHub {
  readonly requests: RecordedRequest[] = [];
  /** Files whose next GET is cut after half the body (the socket is destroyed). */
  readonly cutOnce = new Set<string>();
  /** Files whose next GET sends the right length with wrong bytes. */
  readonly corruptOnce = new Set<string>();
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly repos: Map<string, FakeRepo>,
  ) {}

  static async start(repos: Record<string, FakeRepo>): Promise<FakeHub> {
    const server = createServer();
    const hub = new FakeHub(server, new Map(Object.entries(repos)));
    server.on('request', (req, res) => hub.handle(req, res));
    server.on('connection', (s) => {
      hub.sockets.add(s);
      s.on('close', () => hub.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return hub;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    this.requests.push({ method, url, authorization: req.headers.authorization });
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url);
    if (cdn) return this.serveCdn(cdn[1]!, method, res);
    const repoId = api?.[1] ?? resolve?.[1];
    const repo = repoId === undefined ? undefined : this.repos.get(repoId);
    if (repo === undefined) return this.fail(res, 404, 'RepoNotFound');
    if (repo.token !== undefined && req.headers.authorization !== `Bearer ${repo.token}`) return this.fail(res, 401, 'GatedRepo');
    const revision = decodeURIComponent((api ?? resolve)![2]!);
    if (revision !== 'main' && revision !== repo.commit) return this.fail(res, 404, 'RevisionNotFound');
    if (api) {
      const body = JSON.stringify({ id: repoId, sha: repo.commit, siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    const path = resolve![3]!.split('/').map(decodeURIComponent).join('/');
    const data = repo.files.get(path);
    if (data === undefined) return this.fail(res, 404, 'EntryNotFound');
    if (LFS.test(path)) {
      // The Hub answers LFS files with a redirect to its CDN; the sha256 and size ride on the redirect.
      const oid = sha256(data);
      res.writeHead(302, {
        location: `${this.url}/cdn/${oid}`,
        'x-repo-commit': repo.commit,
        'x-linked-etag': `"${oid}"`,
        'x-linked-size': String(data.byteLength),
        etag: `"${oid}"`,
      });
      res.end();
      return;
    }
    this.send(res, method, path, data, { 'x-repo-commit': repo.commit, etag: `"${gitBlobSha1(data)}"` });
  }

  private serveCdn(oid: string, method: string, res: ServerResponse): void {
    for (const repo of this.repos.values()) {
      for (const [path, data] of repo.files) {
        if (LFS.test(path) && sha256(data) === oid) return this.send(res, method, path, data, {});
      }
    }
    this.fail(res, 404, 'EntryNotFound');
  }

  private send(res: ServerResponse, method: string, path: string, data: Uint8Array, headers: Record<string, string>): void {
    res.writeHead(200, { ...headers, 'content-length': String(data.byteLength), 'content-type': 'application/octet-stream' });
    if (method === 'HEAD') return void res.end();
    if (this.cutOnce.delete(path)) {
      res.write(data.subarray(0, data.byteLength >> 1), () => res.socket?.destroy());
      return;
    }
    if (this.corruptOnce.delete(path)) {
      const bad = Uint8Array.from(data);
      bad[bad.length - 1] ^= 0xff;
      return void res.end(bad);
    }
    res.end(data);
  }

  private fail(res: ServerResponse, status: number, code: string): void {
    res.writeHead(status, { 'x-error-code': code, 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: code }));
  }
}
