/**
 * A local stand-in for the Hugging Face Hub over real HTTP (node:http on 127.0.0.1), answering as
 * today's Hub answers the calls huggingface_hub makes (read in huggingface_hub's
 * `file_download.py` — `get_hf_file_metadata`, `_get_metadata_or_catch_error` — and
 * `utils/_http.py` — `_httpx_follow_relative_redirects_with_backoff`, `hf_raise_for_status`):
 *
 * - `GET /api/models/{repo}/revision/{rev}` → `{id, sha, siblings: [{rfilename}]}`; with `?blobs=true`
 *   (huggingface_hub's `model_info(files_metadata=True)`, hf_api.py `RepoSibling`) each sibling also
 *   has `size`, `blobId` (git blob sha1; for an LFS file, of its pointer) and, for LFS files,
 *   `lfs: {size, sha256, pointerSize}`.
 * - `HEAD|GET /{repo}/resolve/{rev}/{path}`, for a regular (git) file: a relative 307 to
 *   `/api/resolve-cache/models/{repo}/{commit}/{path}` carrying no ETag, which then answers 200
 *   with `ETag` (git blob sha1), `X-Repo-Commit` and the bytes.
 * - for an LFS file: a 302 to a separate CDN origin with `X-Linked-Etag` (sha256), `X-Linked-Size`,
 *   `X-Repo-Commit` and xet headers (`X-Xet-Hash`, a `Link` with rel="xet-auth"); the CDN URL is
 *   "signed", serves Range requests (206 + Content-Range) and, like S3 presigned URLs, rejects a
 *   request that also carries `Authorization` (400).
 * - a renamed repo answers every old URL with a relative 307 to the new name (no ETag).
 * - errors carry `X-Error-Code` / `X-Error-Message`: 401 RepoNotFound for a missing repo without
 *   a token, 404 with one; 401 GatedRepo without a token for a gated repo, 401 "Invalid credentials
 *   in Authorization header" for a wrong one; 404 RevisionNotFound / EntryNotFound.
 * - `outage` makes the Hub origin answer a status (503 with an HTML page, 429 with Retry-After) to everything.
 * - CORS, for pages on another origin (the Hub serves model files to browsers: transformers.js
 *   fetches `/resolve/` URLs from pages, huggingface_hub#468 added the headers): every answer of
 *   both origins carries `Access-Control-Allow-Origin: *` (redirects and errors too, so a page can
 *   follow the one and read the other), and a preflight `OPTIONS` (a request with `Authorization`
 *   or `Range`) is answered 204 allowing those headers. No custom header is exposed: a page reads
 *   the commit and etags from the API's JSON.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { join, relative, sep } from 'node:path';

export interface FakeRepo {
  commit: string;
  files: Map<string, Uint8Array>;
  /** When set, requests without `Authorization: Bearer <token>` are refused (a gated repo). */
  token?: string;
}

export interface RecordedRequest {
  /** `hub` or `cdn`. */
  origin: 'hub' | 'cdn';
  method: string;
  url: string;
  authorization: string | undefined;
  range: string | undefined;
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

async function listen(server: Server, sockets: Set<Socket>): Promise<void> {
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}

export class FakeHub {
  readonly requests: RecordedRequest[] = [];
  /** Files whose next N GETs are cut after half the body (the socket is destroyed): path → N. */
  readonly cuts = new Map<string, number>();
  /** Files whose next GET sends the right length with wrong bytes. */
  readonly corruptOnce = new Set<string>();
  /** Old repo id → new repo id. */
  readonly renamed = new Map<string, string>();
  /** When set, the Hub origin answers this status to every request. */
  outage: number | undefined;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly hub: Server,
    private readonly cdn: Server,
    readonly repos: Map<string, FakeRepo>,
  ) {}

  static async start(repos: Record<string, FakeRepo>): Promise<FakeHub> {
    const fake = new FakeHub(createServer(), createServer(), new Map(Object.entries(repos)));
    fake.hub.on('request', (req, res) => fake.handleHub(req, res));
    fake.cdn.on('request', (req, res) => fake.handleCdn(req, res));
    await listen(fake.hub, fake.sockets);
    await listen(fake.cdn, fake.sockets);
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
  }

  get cdnUrl(): string {
    return `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([this.hub, this.cdn].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private record(origin: 'hub' | 'cdn', req: IncomingMessage): void {
    this.requests.push({ origin, method: req.method ?? 'GET', url: req.url ?? '/', authorization: req.headers.authorization, range: req.headers.range });
  }

  /** CORS on every answer; true when the request was a preflight, now answered. */
  private cors(req: IncomingMessage, res: ServerResponse): boolean {
    res.setHeader('access-control-allow-origin', '*');
    if (req.method !== 'OPTIONS') return false;
    res.writeHead(204, { 'access-control-allow-methods': 'GET, HEAD, OPTIONS', 'access-control-allow-headers': 'authorization, range, content-type', 'access-control-max-age': '86400' });
    res.end();
    return true;
  }

  private handleHub(req: IncomingMessage, res: ServerResponse): void {
    this.record('hub', req);
    if (this.cors(req, res)) return;
    const method = req.method ?? 'GET';
    const [url = '/', query = ''] = (req.url ?? '/').split('?');
    if (this.outage !== undefined) {
      const headers: Record<string, string> = { 'content-type': 'text/html' };
      if (this.outage === 429) headers['retry-after'] = '1';
      res.writeHead(this.outage, headers);
      res.end(`<html><body><h1>${this.outage}</h1>upstream unavailable</body></html>`);
      return;
    }
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    const cache = /^\/api\/resolve-cache\/models\/([^/]+\/[^/]+)\/([0-9a-f]{40})\/(.+)$/.exec(url);
    const repoId = (api ?? resolve ?? cache)?.[1];
    if (repoId !== undefined && this.renamed.has(repoId)) {
      // A renamed repo: every old URL redirects, relative, to the new name.
      res.writeHead(307, { location: (req.url ?? '/').replace(`/${repoId}/`, `/${this.renamed.get(repoId)!}/`) });
      res.end();
      return;
    }
    const repo = repoId === undefined ? undefined : this.repos.get(repoId);
    const auth = req.headers.authorization;
    if (repo === undefined) return this.fail(res, auth === undefined ? 401 : 404, 'RepoNotFound', 'Repository not found');
    if (repo.token !== undefined && auth !== `Bearer ${repo.token}`) {
      if (auth !== undefined) return this.fail(res, 401, undefined, 'Invalid credentials in Authorization header');
      return this.fail(res, 401, 'GatedRepo', `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
    }
    const revision = decodeURIComponent((api ?? resolve ?? cache)![2]!);
    if (revision !== 'main' && revision !== repo.commit) return this.fail(res, 404, 'RevisionNotFound', 'Invalid rev id');
    if (api) {
      const blobs = new URLSearchParams(query).get('blobs') === 'true';
      const sibling = (rfilename: string, data: Uint8Array): Record<string, unknown> => {
        if (!blobs) return { rfilename };
        if (!LFS.test(rfilename)) return { rfilename, blobId: gitBlobSha1(data), size: data.byteLength };
        const pointer = new TextEncoder().encode(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(data)}\nsize ${data.byteLength}\n`);
        return { rfilename, blobId: gitBlobSha1(pointer), size: data.byteLength, lfs: { size: data.byteLength, sha256: sha256(data), pointerSize: pointer.byteLength } };
      };
      const body = JSON.stringify({ id: repoId, sha: repo.commit, siblings: [...repo.files].map(([f, data]) => sibling(f, data)) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    const path = (resolve ?? cache)![3]!.split('/').map(decodeURIComponent).join('/');
    const data = repo.files.get(path);
    if (data === undefined) return this.fail(res, 404, 'EntryNotFound', `${path} does not exist on "${revision}"`, { 'x-repo-commit': repo.commit });
    if (LFS.test(path)) {
      const oid = sha256(data);
      res.writeHead(302, {
        location: `${this.cdnUrl}/cdn/${oid}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=${oid.slice(0, 16)}`,
        'x-repo-commit': repo.commit,
        'x-linked-etag': `"${oid}"`,
        'x-linked-size': String(data.byteLength),
        etag: `"${gitBlobSha1(data)}"`,
        'x-xet-hash': oid.slice(0, 64),
        'x-xet-refresh-route': `/api/models/${repoId}/xet-read-token/${repo.commit}`,
        link: `<${this.url}/api/models/${repoId}/xet-read-token/${repo.commit}>; rel="xet-auth"`,
      });
      res.end();
      return;
    }
    if (resolve) {
      // Regular files: the Hub sends the client on to its resolve cache, naming the commit, without an ETag.
      res.writeHead(307, { location: `/api/resolve-cache/models/${repoId}/${repo.commit}/${resolve[3]!}`, 'x-repo-commit': repo.commit });
      res.end();
      return;
    }
    this.send(res, method, path, data, { 'x-repo-commit': repo.commit, etag: `"${gitBlobSha1(data)}"` }, undefined);
  }

  private handleCdn(req: IncomingMessage, res: ServerResponse): void {
    this.record('cdn', req);
    if (this.cors(req, res)) return;
    const m = /^\/cdn\/([0-9a-f]{64})\?X-Amz-Algorithm=[^&]+&X-Amz-Signature=([0-9a-f]{16})$/.exec(req.url ?? '');
    if (m === null || m[2] !== m[1]!.slice(0, 16)) return this.fail(res, 403, undefined, 'SignatureDoesNotMatch');
    if (req.headers.authorization !== undefined) return this.fail(res, 400, undefined, 'Only one auth mechanism allowed');
    for (const repo of this.repos.values()) {
      for (const [path, data] of repo.files) {
        if (LFS.test(path) && sha256(data) === m[1]) return this.send(res, req.method ?? 'GET', path, data, { etag: `"${m[1]}"` }, req.headers.range);
      }
    }
    this.fail(res, 404, undefined, 'NoSuchKey');
  }

  private send(res: ServerResponse, method: string, path: string, data: Uint8Array, headers: Record<string, string>, range: string | undefined): void {
    let body = data;
    let status = 200;
    const out: Record<string, string> = { ...headers, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    const r = range === undefined ? null : /^bytes=(\d+)-$/.exec(range);
    if (r !== null) {
      const from = Number(r[1]);
      if (from >= data.byteLength) {
        res.writeHead(416, { 'content-range': `bytes */${data.byteLength}` });
        res.end();
        return;
      }
      body = data.subarray(from);
      status = 206;
      out['content-range'] = `bytes ${from}-${data.byteLength - 1}/${data.byteLength}`;
    }
    out['content-length'] = String(body.byteLength);
    res.writeHead(status, out);
    if (method === 'HEAD') return void res.end();
    const cut = this.cuts.get(path) ?? 0;
    if (cut > 0) {
      this.cuts.set(path, cut - 1);
      res.write(body.subarray(0, body.byteLength >> 1), () => res.socket?.destroy());
      return;
    }
    if (this.corruptOnce.delete(path)) {
      const bad = Uint8Array.from(body);
      bad[bad.length - 1] ^= 0xff;
      return void res.end(bad);
    }
    res.end(body);
  }

  private fail(res: ServerResponse, status: number, code: string | undefined, message: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, { ...(code === undefined ? {} : { 'x-error-code': code }), 'x-error-message': message, 'content-type': 'application/json', ...extra });
    res.end(JSON.stringify({ error: message }));
  }
}

// What the modules of the inference-free fixture read: not the root idf.json (the static
// embedding has model.safetensors), not generation_config.json, not vocab.txt (tokenizer.json is there).
export const INFERENCE_FREE_NEEDED = [
  'config_sentence_transformers.json',
  'document_0_MLMTransformer/config.json',
  'document_0_MLMTransformer/model.safetensors',
  'document_0_MLMTransformer/sentence_bert_config.json',
  'document_0_MLMTransformer/special_tokens_map.json',
  'document_0_MLMTransformer/tokenizer.json',
  'document_0_MLMTransformer/tokenizer_config.json',
  'document_1_SpladePooling/config.json',
  'modules.json',
  'query_0_SparseStaticEmbedding/config.json',
  'query_0_SparseStaticEmbedding/model.safetensors',
  'query_0_SparseStaticEmbedding/special_tokens_map.json',
  'query_0_SparseStaticEmbedding/tokenizer.json',
  'query_0_SparseStaticEmbedding/tokenizer_config.json',
  'router_config.json',
];
