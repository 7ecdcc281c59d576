#!/usr/bin/env node
// Independent check of `ghops release draft`: runs release-drafter's OWN code (the npm package
// `release-drafter-github-app`, pinned in package-lock.json) on every case of
// ../release/cases.yaml and writes what release-drafter drafts to oracle.json. The Rust test
// `release::table::release_drafter_oracle` compares ghops's draft with it, case by case.
//
// The GitHub state of a case is served to release-drafter exactly as table.rs serves it to
// ghops (same release ids, dates, PR fields, one commit per PR, newest first), through a fake
// Probot context: release-drafter's action entry point (index.js, run as under Actions) reads
// its inputs from INPUT_* and writes its outputs to GITHUB_OUTPUT, as in a real workflow.
//
//   npm ci && node oracle.js            # rewrites oracle.json
//   node oracle.js --check              # fails if oracle.json is not what the package produces
'use strict'

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const yaml = require('js-yaml')

const PKG = 'release-drafter-github-app'
const CASES = path.join(__dirname, '..', 'release', 'cases.yaml')
const OUT = path.join(__dirname, 'oracle.json')
const pad = (n) => String(n).padStart(2, '0')
const hex40 = (n) => n.toString(16).padStart(40, '0')

// --- the GitHub state, as table.rs builds it ------------------------------------------------
function prNode(p) {
  const author = p.author ?? `dev${p.n}`
  const day = p.merged ?? p.n
  return {
    title: p.title ?? '',
    number: p.n,
    url: `https://github.com/octo/app/pull/${p.n}`,
    body: p.body ?? '',
    author: p.ghost
      ? null
      : p.bot
        ? { login: author, __typename: 'Bot', url: `https://github.com/apps/${author}` }
        : { login: author, __typename: 'User', url: `https://github.com/${author}` },
    baseRepository: { nameWithOwner: p.repo ?? 'octo/app' },
    mergedAt: `2026-11-${pad(Math.floor(day / 24) + 1)}T${pad(day % 24)}:00:00Z`,
    isCrossRepository: false,
    labels: { nodes: (p.labels ?? []).map((name) => ({ name })) },
    merged: !p.unmerged,
    baseRefName: p.base ?? 'main',
    headRefName: p.head ?? `topic-${p.n}`,
  }
}

function commitNode(p, index) {
  const author = p.author ?? `dev${p.n}`
  const login = p.bot ? `${author}[bot]` : author
  const pr = prNode(p)
  return {
    id: p.repo ? hex40(0xf000 + index) : hex40(p.n),
    committedDate: pr.mergedAt,
    message: p.title ?? '',
    author: p.ghost ? { name: 'Ghost Writer', user: null } : { name: login, user: { login } },
    associatedPullRequests: { nodes: [pr] },
    files: p.files ?? [],
  }
}

function releasesOf(list) {
  const n = list.length
  return list.map((r, i) => {
    const id = 100 + n - i
    return {
      id,
      tag_name: r.tag,
      name: r.name ?? r.tag,
      draft: Boolean(r.draft),
      prerelease: Boolean(r.prerelease),
      target_commitish: r.target ?? 'main',
      body: r.body ?? '',
      created_at: `2026-10-${pad(r.created ?? 28 - i)}T00:00:00Z`,
      html_url: `https://github.com/octo/app/releases/tag/${r.tag}`,
      upload_url: `https://uploads.github.com/repos/octo/app/releases/${id}/assets{?name,label}`,
    }
  })
}

// GitHub's `history(path:)`: a file, or everything under a directory.
const touches = (file, p) => {
  const dir = p.replace(/\/+$/, '')
  return file === dir || file.startsWith(`${dir}/`)
}

function fakeContext(c, config, writes, logs) {
  const releases = releasesOf(c.releases ?? [])
  // Newest first, like `history`.
  const commits = (c.prs ?? []).map(commitNode).reverse()
  const history = (nodes) => ({
    repository: {
      object: {
        history: {
          totalCount: nodes.length,
          pageInfo: { hasNextPage: false, endCursor: null },
          nodes,
        },
      },
    },
  })
  const graphql = async (query, variables) => {
    const since = variables.since ? Date.parse(variables.since) : -Infinity
    const inRange = commits.filter((k) => Date.parse(k.committedDate) >= since)
    if (variables.path !== undefined) {
      return history(
        inRange.filter((k) => k.files.some((f) => touches(f, variables.path))).map((k) => ({ id: k.id }))
      )
    }
    return history(inRange.map(({ files, ...k }) => k))
  }
  const reply = (data) => ({ status: 200, data })
  const octokit = {
    paginate: async (options, map) => {
      let stop = false
      const page = map(reply(releases), () => (stop = true))
      return page
    },
    graphql,
    repos: {
      listReleases: { endpoint: { merge: (o) => o } },
      createRelease: async (params) => {
        writes.push({ method: 'POST', params })
        return reply({
          id: 900,
          html_url: 'https://github.com/octo/app/releases/tag/untagged-1',
          upload_url: 'https://uploads.github.com/repos/octo/app/releases/900/assets{?name,label}',
          tag_name: params.tag_name,
          name: params.name,
        })
      },
      updateRelease: async (params) => {
        writes.push({ method: 'PATCH', params })
        const old = releases.find((r) => r.id === params.release_id)
        return reply({
          id: params.release_id,
          html_url: old.html_url,
          upload_url: old.upload_url,
          tag_name: params.tag_name ?? old.tag_name,
          name: params.name ?? old.name,
        })
      },
    },
  }
  const log = {
    info: (m) => logs.push(String(m)),
    warn: (e, m) => logs.push(`${m}: ${e && e.message ? e.message : e}`),
    debug: () => {},
    error: (m) => logs.push(String(m)),
  }
  return {
    payload: { repository: { full_name: 'octo/app', default_branch: 'main' }, ref: process.env.GITHUB_REF },
    repo: (o) => ({ owner: 'octo', repo: 'app', ...o }),
    issue: (o) => ({ owner: 'octo', repo: 'app', ...o }),
    config: async () => config,
    octokit,
    log,
  }
}

// @actions/core's file command format: `name<<DELIM\nvalue\nDELIM\n`.
function parseOutputs(text) {
  const out = {}
  const lines = text.split(os.EOL)
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i])
    if (!m) continue
    const value = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i])
    out[m[1]] = value.join(os.EOL)
  }
  return out
}

async function runCase(c, tmp) {
  if (c.ghops) return { skipped: 'a ghops.toml config (ghops-only options)' }
  const config = { ...(c.config ?? {}) }
  if (config.template === undefined) config.template = '$CHANGES'
  // Fresh release-drafter modules for every case: it keeps state in module scope
  // (versions.js mutates its default version info). Its dependencies keep none that matters.
  for (const k of Object.keys(require.cache)) {
    if (k.includes(`${path.sep}${PKG}${path.sep}`)) delete require.cache[k]
  }
  const outputFile = path.join(tmp, 'output')
  fs.writeFileSync(outputFile, '')
  const target = c.target ?? 'main'
  const input = c.input ?? {}
  const saved = { ...process.env }
  for (const k of Object.keys(process.env)) if (k.startsWith('INPUT_') || k.startsWith('GITHUB_')) delete process.env[k]
  Object.assign(process.env, {
    GITHUB_ACTIONS: 'true',
    GITHUB_REF: `refs/heads/${target}`,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: path.join(tmp, 'summary'),
  })
  for (const k of ['version', 'tag', 'name']) if (input[k] !== undefined) process.env[`INPUT_${k.toUpperCase()}`] = String(input[k])
  const writes = []
  const logs = []
  // @actions/core prints `::debug::` lines on stdout: keep them out of the way.
  const write = process.stdout.write
  process.stdout.write = () => true
  let failure
  try {
    const app = require(PKG)
    let handler
    app({ on: () => {}, onAny: (h) => (handler = h) }, {})
    await handler(fakeContext(c, config, writes, logs))
  } catch (e) {
    failure = e && e.message ? e.message : String(e)
  } finally {
    process.stdout.write = write
    // `core.setFailed` (a rejected config) sets the exit code: this process reports by itself.
    process.exitCode = 0
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  }
  if (failure) return { error: failure }
  if (writes.length === 0) {
    const why = logs.find((l) => /invalid|error|not found/i.test(l)) ?? logs.join('\n')
    return { rejected: why.replace(/^octo\/app: /, '') }
  }
  const [w] = writes
  const { owner, repo, release_id, ...payload } = w.params
  const outputs = parseOutputs(fs.readFileSync(outputFile, 'utf8'))
  return { write: w.method, id: release_id ?? null, payload, outputs }
}

async function main() {
  const pkg = require(`${PKG}/package.json`)
  const cases = yaml.load(fs.readFileSync(CASES, 'utf8'))
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'drafter-oracle-'))
  const result = { package: `${PKG}@${pkg.version}`, cases: {} }
  for (const c of cases) result.cases[c.name] = await runCase(c, tmp)
  fs.rmSync(tmp, { recursive: true, force: true })
  const text = `${JSON.stringify(result, null, 2)}\n`
  if (process.argv.includes('--check')) {
    const old = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : ''
    if (old !== text) {
      console.error(`oracle.json is stale: run \`node ${path.relative(process.cwd(), __filename)}\` and commit it`)
      process.exit(1)
    }
    console.log(`oracle.json is current (${cases.length} cases, ${result.package})`)
    return
  }
  fs.writeFileSync(OUT, text)
  console.log(`wrote ${path.relative(process.cwd(), OUT)}: ${cases.length} cases, ${result.package}`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
