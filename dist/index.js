import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 644:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  e: () => (/* binding */ action_run)
});

;// CONCATENATED MODULE: external "node:os"
const external_node_os_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:os");
;// CONCATENATED MODULE: ./src/duration.ts
// Durations as Go writes them (time.ParseDuration), because Nomad users write
// `wait = "5m"` and `healthy_deadline = "5m"` all day; plus bare seconds for
// shells and CI variables (`TIMEOUT=600`).
const NS_PER_UNIT = {
    ns: 1n,
    us: 1000n,
    µs: 1000n, // U+00B5 micro sign
    μs: 1000n, // U+03BC Greek mu
    ms: 1000000n,
    s: 1000000000n,
    m: 60000000000n,
    h: 3600000000000n,
};
// Go's time.Duration is an int64 of nanoseconds; beyond that Go says "invalid duration".
const MAX_NS = (1n << 63n) - 1n;
const BARE_SECONDS = /^(\d+(\.\d*)?|\.\d+)$/;
const SEGMENT = /^(\d*)(?:\.(\d*))?([^\d.]*)/;
function bad(reason, text) {
    return new Error(`${reason} in duration ${JSON.stringify(text)}`);
}
/**
 * Milliseconds in a Go-style duration (`500ms`, `90s`, `1h30m`, `1.5h`, `250us`) or bare seconds
 * (`600`, `1.5`). Sub-millisecond parts survive as fractions. Throws an Error with a short reason
 * for an empty, negative or malformed value.
 */
function parseDuration(text) {
    if (text === '')
        throw new Error('empty duration');
    let rest = text;
    if (rest.startsWith('-'))
        throw bad('negative value', text);
    if (rest.startsWith('+'))
        rest = rest.slice(1);
    if (rest === '')
        throw bad('no number', text);
    if (BARE_SECONDS.test(rest))
        rest += 's';
    let total = 0n;
    while (rest !== '') {
        const m = SEGMENT.exec(rest);
        const [whole, intDigits = '', fracDigits, unit = ''] = m ?? [];
        if (!m || whole === undefined || (intDigits === '' && (fracDigits ?? '') === '')) {
            throw bad('expected a number', text);
        }
        if (unit === '')
            throw bad('missing unit', text);
        const perUnit = NS_PER_UNIT[unit];
        if (perUnit === undefined) {
            throw bad(`unknown unit ${JSON.stringify(unit)} (use ns, us, ms, s, m or h)`, text);
        }
        total += BigInt(intDigits || '0') * perUnit;
        if (fracDigits)
            total += (BigInt(fracDigits) * perUnit) / 10n ** BigInt(fracDigits.length);
        if (total > MAX_NS)
            throw bad('value out of range', text);
        rest = rest.slice(whole.length);
    }
    return Number(total) / 1e6;
}
/** Short text for logs: `850ms`, `12.3s`, `4m05s`, `1h02m`. */
function formatDuration(ms) {
    if (!Number.isFinite(ms))
        return String(ms);
    if (ms < 0)
        return `-${formatDuration(-ms)}`;
    if (ms > 0 && ms < 1)
        return `${Number(ms.toPrecision(2))}ms`;
    // Each step checks the rounded value, so 59.96s reads 1m00s and not 60.0s.
    if (Math.round(ms) < 1000)
        return `${Math.round(ms)}ms`;
    const tenths = Math.round(ms / 100);
    if (tenths < 600)
        return `${tenths % 10 === 0 ? tenths / 10 : (tenths / 10).toFixed(1)}s`;
    const seconds = Math.round(ms / 1000);
    if (seconds < 3600)
        return `${Math.floor(seconds / 60)}m${pad2(seconds % 60)}s`;
    const minutes = Math.round(ms / 60_000);
    return `${Math.floor(minutes / 60)}h${pad2(minutes % 60)}m`;
}
function pad2(n) {
    return String(n).padStart(2, '0');
}

;// CONCATENATED MODULE: ./src/nomad/config.ts
// The client's own configuration, as Nomad's Go API client owns its Config and
// TLSConfig (api/api.go). src/config/ fills it from the inputs and the NOMAD_*
// environment; the client never learns where a value came from.
/** Where the nomad CLI connects when NOMAD_ADDR is unset (api/api.go DefaultConfig). */
const DEFAULT_ADDRESS = 'http://127.0.0.1:4646';

;// CONCATENATED MODULE: ./src/config/inputs-nomad.ts
// The inputs that reach Nomad: its address, the ACL token or the JWT login,
// namespace, region and TLS, parsed into the client's Config (nomad.ts,
// address.ts, login.ts, tls.ts). The first part of THE input spec (inputs.ts),
// in its order.

const NOMAD_INPUTS = [
    {
        name: 'address',
        description: 'Nomad HTTP API address, http:// or https://.',
        env: ['NOMAD_ADDR'],
        default: DEFAULT_ADDRESS,
        kind: 'url',
        parsedBy: 'address.ts',
        example: 'https://nomad.example.internal:4646',
        cli: { value: 'URL', help: 'Nomad HTTP API address', section: 'nomad' },
    },
    {
        name: 'token',
        description: 'Nomad ACL token, sent as X-Nomad-Token and masked before anything is logged.',
        env: ['NOMAD_TOKEN'],
        kind: 'text',
        parsedBy: 'nomad.ts',
        secret: true,
        example: 'secrets.NOMAD_TOKEN',
        cli: {
            value: 'TOKEN',
            help: 'ACL token; prefer the variable: arguments show in ps',
            section: 'nomad',
        },
    },
    {
        name: 'auth-method',
        description: "Name of a Nomad JWT auth method (Nomad 1.5.4+): log in with the workflow's OIDC token (needs permissions: id-token: write) and send the token Nomad returns, masked. Not with token or NOMAD_TOKEN.",
        kind: 'text',
        parsedBy: 'login.ts',
        example: 'github',
        cli: {
            value: 'NAME',
            help: 'log in with this Nomad JWT auth method and the JWT of --login-token instead of a token',
            section: 'nomad',
        },
    },
    {
        name: 'auth-audience',
        description: "With auth-method: the audience (aud) to request for the workflow's OIDC token; one of the auth method's BoundAudiences.",
        default: 'nomad',
        kind: 'text',
        parsedBy: 'login.ts',
    },
    {
        name: 'login-token',
        description: "With auth-method: a JWT to log in with instead of the workflow's OIDC token (one from another identity provider); masked.",
        env: ['NOMAD_LOGIN_TOKEN'],
        kind: 'text',
        parsedBy: 'login.ts',
        secret: true,
        cli: {
            value: 'JWT',
            help: "with --auth-method: the JWT to log in with (GitLab's id_tokens, any CI that mints one); prefer the variable: arguments show in ps",
            section: 'nomad',
        },
    },
    {
        name: 'namespace',
        description: 'Nomad namespace, sent as ?namespace= on every request; without one Nomad uses "default".',
        env: ['NOMAD_NAMESPACE'],
        kind: 'text',
        parsedBy: 'nomad.ts',
        example: 'prod',
        cli: { value: 'NS', help: 'namespace of the job and its deployment', section: 'nomad' },
    },
    {
        name: 'region',
        description: 'Nomad region, sent as ?region= on every request.',
        env: ['NOMAD_REGION'],
        kind: 'text',
        parsedBy: 'nomad.ts',
        example: 'eu-west',
        cli: { value: 'REGION', help: 'region to ask', section: 'nomad' },
    },
    {
        name: 'ca-cert',
        description: "CA bundle to verify Nomad's certificate: PEM text, a file path, or a directory of PEM files.",
        env: ['NOMAD_CACERT', 'NOMAD_CAPATH'],
        kind: 'pem',
        parsedBy: 'tls.ts',
        example: 'secrets.NOMAD_CACERT',
        cli: { value: 'PEM|PATH', help: "CA bundle to verify Nomad's certificate", section: 'nomad' },
    },
    {
        name: 'client-cert',
        description: 'Client certificate for mTLS: PEM text or a file path; needs client-key.',
        env: ['NOMAD_CLIENT_CERT'],
        kind: 'pem',
        parsedBy: 'tls.ts',
        cli: { value: 'PEM|PATH', help: 'client certificate for mTLS', section: 'nomad' },
    },
    {
        name: 'client-key',
        description: 'Client key for mTLS: PEM text or a file path; masked.',
        env: ['NOMAD_CLIENT_KEY'],
        kind: 'pem',
        parsedBy: 'tls.ts',
        secret: true,
        cli: { value: 'PEM|PATH', help: 'client key for mTLS', section: 'nomad' },
    },
    {
        name: 'tls-server-name',
        description: "Name to send as SNI and to verify in Nomad's certificate.",
        env: ['NOMAD_TLS_SERVER_NAME'],
        kind: 'text',
        parsedBy: 'tls.ts',
        example: 'server.global.nomad',
        cli: { value: 'NAME', help: "name to verify in Nomad's certificate", section: 'nomad' },
    },
    {
        name: 'tls-skip-verify',
        description: 'Disable certificate verification (insecure; warns).',
        env: ['NOMAD_SKIP_VERIFY'],
        default: 'false',
        kind: 'boolean',
        parsedBy: 'tls.ts',
        cli: { help: "do not verify Nomad's certificate, insecure", section: 'nomad' },
    },
];

;// CONCATENATED MODULE: ./src/config/settings.ts
// The one typed, validated shape of a step's configuration. parseSettings()
// (parse.ts) fills it from the action's inputs or the CLI's options and the
// environment; nothing after it reads an input or a variable.
const MODES = ['promote', 'wait', 'fail', 'pause', 'resume', 'health'];
const ON_FAILURE = ['none', 'fail', 'pause'];
const ON_UNHEALTHY_CANARY = ['fail-fast', 'wait-for-replacement'];
const WATCH_METHODS = ['auto', 'events', 'blocking'];

;// CONCATENATED MODULE: ./src/config/spec.ts
// The shape of the interface spec (inputs.ts, outputs.ts): what is said about
// each input and output, once, for action.yml, the README, the CLI and the parser.
/** The CLI's help groups options under these headings, in this order. */
const CLI_SECTIONS = {
    target: 'Target (exactly one):',
    gate: 'Gate:',
    soak: 'Soak (after the canaries pass, before the write):',
    nomad: 'Nomad (defaults from the NOMAD_* environment, as the nomad CLI):',
};
/** `a, b or c` */
function orList(words) {
    return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}
/**
 * An input's default in words: `env NOMAD_ADDR, else http://127.0.0.1:4646`,
 * `10m`, `all groups that have canaries`; undefined when it has none. `code`
 * wraps names and values (Markdown backticks, or `$` for the CLI's variables).
 */
function defaultPhrase(spec, style = 'plain') {
    const value = (v) => (style === 'markdown' ? `\`${v}\`` : v);
    const variable = (v) => style === 'markdown' ? `\`${v}\`` : style === 'cli' ? `$${v}` : v;
    const parts = [];
    if (spec.env?.length) {
        parts.push(`${style === 'cli' ? '' : 'env '}${spec.env.map(variable).join(', else ')}`);
    }
    if (spec.default !== undefined)
        parts.push(value(spec.default));
    else if (spec.defaultText !== undefined)
        parts.push(spec.defaultText);
    return parts.length ? parts.join(', else ') : undefined;
}

;// CONCATENATED MODULE: ./src/config/inputs.ts
// THE spec of the step's inputs: for each its name, description, default,
// NOMAD_* variables, kind and CLI help. action.yml, the README's inputs table and
// the CLI's --help are generated from it (docs.ts, help.ts; `npm run docs`);
// parse.ts reads every input through it; __tests__/docs.test.ts fails on drift.
// Names and meanings are fixed by the interface doc: add, never rename.
// The inputs that reach Nomad (address, login, TLS) stand first, in
// inputs-nomad.ts; here follow those that say what to gate and how.



const INPUTS = [
    ...NOMAD_INPUTS,
    {
        name: 'deployment-id',
        description: 'Deployment to gate: a full UUID or a unique prefix. Exactly one of deployment-id and job is required.',
        kind: 'text',
        parsedBy: 'target.ts',
        example: '5e7f2a1c',
        cli: { value: 'ID', help: 'full deployment UUID or a unique prefix', section: 'target' },
    },
    {
        name: 'job',
        description: 'Job ID: the gate acts on its latest deployment. Exactly one of deployment-id and job is required.',
        kind: 'text',
        parsedBy: 'target.ts',
        example: 'web',
        cli: { value: 'ID', help: "the job's latest deployment", section: 'target' },
    },
    {
        name: 'job-version',
        description: 'With job: gate exactly the deployment of this job version, waiting within timeout for it to appear; a newer version fails the step.',
        kind: 'count',
        parsedBy: 'target.ts',
        example: '7',
        cli: {
            value: 'N',
            help: "with --job: gate exactly this version's deployment",
            section: 'target',
        },
    },
    {
        name: 'mode',
        description: `What the step does: ${orList(MODES)}.`,
        default: 'promote',
        kind: 'choice',
        parsedBy: 'parse.ts',
        choices: MODES,
    },
    {
        name: 'groups',
        description: 'Task groups to gate on and promote, comma, space or newline separated; each must exist in the deployment.',
        defaultText: 'all groups that have canaries',
        kind: 'list',
        parsedBy: 'parse.ts',
        example: 'web,api',
        cli: { value: 'a,b', help: 'task groups to gate and promote', section: 'gate' },
    },
    {
        name: 'timeout',
        description: 'Deadline for the whole step: Go-style duration or bare seconds.',
        default: '10m',
        kind: 'duration',
        parsedBy: 'parse.ts',
        example: '1h30m',
        cli: {
            value: 'DURATION',
            help: 'deadline for the whole step: 90s, 10m, 1h30m or seconds',
            section: 'gate',
        },
    },
    {
        name: 'on-failure',
        description: `What to do to the deployment when a canary turns unhealthy or the deadline passes: ${orList(ON_FAILURE)}.`,
        default: 'none',
        kind: 'choice',
        parsedBy: 'parse.ts',
        choices: ON_FAILURE,
        cli: { value: 'ACTION', help: 'on timeout or an unhealthy canary', section: 'gate' },
    },
    {
        name: 'on-unhealthy-canary',
        description: 'fail-fast: a selected canary reported unhealthy ends the step at once (result unhealthy, then on-failure). wait-for-replacement: keep waiting, as Nomad does, while it replaces the canary; a replacement that turns healthy passes.',
        default: 'fail-fast',
        kind: 'choice',
        parsedBy: 'parse.ts',
        choices: ON_UNHEALTHY_CANARY,
        cli: { value: 'POLICY', help: 'when a selected canary is reported unhealthy', section: 'gate' },
    },
    {
        name: 'watch',
        description: "How changes are followed: auto (Nomad's event stream, falling back to blocking queries within a second or two when it is refused, silent or drops), events (the stream only; the step fails without it) or blocking (blocking queries only).",
        default: 'auto',
        kind: 'choice',
        parsedBy: 'parse.ts',
        choices: WATCH_METHODS,
        cli: { value: 'METHOD', help: 'how changes are followed', section: 'gate' },
    },
    {
        name: 'healthy-allocs',
        description: 'health mode: allocation IDs (or unique prefixes) to mark healthy, or "canaries" for every placed canary of the selected groups.',
        kind: 'list',
        parsedBy: 'allocs.ts',
        example: 'canaries',
        cli: { value: 'IDS', help: 'health mode: alloc IDs/prefixes, or "canaries"', section: 'gate' },
    },
    {
        name: 'unhealthy-allocs',
        description: 'health mode: allocation IDs (or unique prefixes) to mark unhealthy, or "canaries".',
        kind: 'list',
        parsedBy: 'allocs.ts',
        example: '9a3b1c2d',
        cli: { value: 'IDS', help: 'health mode: alloc IDs/prefixes, or "canaries"', section: 'gate' },
    },
    {
        name: 'wait-for-completion',
        description: 'After promote: keep watching until the deployment is successful (pass) or failed/cancelled (fail), within timeout.',
        default: 'false',
        kind: 'boolean',
        parsedBy: 'parse.ts',
        cli: { help: 'after promoting, wait until the deployment is successful', section: 'gate' },
    },
    {
        name: 'soak',
        description: 'After the canaries pass: keep watching them this long before promoting (0: no soak); an unhealthy canary or failed check during the soak fails the step at once.',
        default: '0',
        kind: 'duration',
        parsedBy: 'soak.ts',
        example: '5m',
        cli: {
            value: 'DURATION',
            help: 'keep watching this long; an unhealthy canary fails at once',
            section: 'soak',
        },
    },
    {
        name: 'check-url',
        description: 'During the soak: URLs checked every check-interval; a check passes on HTTP 2xx within check-timeout. Comma, space or newline separated.',
        kind: 'list',
        parsedBy: 'soak.ts',
        example: 'https://canary.web.internal/healthz',
        cli: {
            value: 'URL',
            help: 'checked every check-interval during the soak: 2xx passes',
            section: 'soak',
        },
    },
    {
        name: 'check-interval',
        description: 'How often the checks run during the soak.',
        default: '10s',
        kind: 'duration',
        parsedBy: 'soak.ts',
        cli: { value: 'DURATION', help: 'how often the checks run', section: 'soak' },
    },
    {
        name: 'check-timeout',
        description: 'Time limit of one check.',
        default: '5s',
        kind: 'duration',
        parsedBy: 'soak.ts',
        cli: { value: 'DURATION', help: 'time limit of one check', section: 'soak' },
    },
    {
        name: 'prometheus-url',
        description: 'During the soak: Prometheus base URL for prometheus-query (an instant query via /api/v1/query).',
        kind: 'url',
        parsedBy: 'soak.ts',
        example: 'http://prometheus:9090',
        cli: { value: 'URL', help: 'Prometheus to send prometheus-query to', section: 'soak' },
    },
    {
        name: 'prometheus-query',
        description: 'PromQL instant query; the check passes when every returned sample is at or below prometheus-threshold.',
        kind: 'text',
        parsedBy: 'soak.ts',
        example: 'sum(rate(http_errors_total{job="web",version="canary"}[1m])) / sum(rate(http_requests_total{job="web",version="canary"}[1m]))',
        cli: {
            value: 'Q',
            help: 'passes when every sample is <= prometheus-threshold',
            section: 'soak',
        },
    },
    {
        name: 'prometheus-threshold',
        description: 'Highest value a sample of prometheus-query may have.',
        kind: 'number',
        parsedBy: 'soak.ts',
        example: '0.05',
        cli: { value: 'N', help: 'highest value a sample may have', section: 'soak' },
    },
    {
        name: 'failure-limit',
        description: 'How many failed check runs are tolerated during the soak before the step fails (result check-failed).',
        default: '0',
        kind: 'count',
        parsedBy: 'soak.ts',
        cli: { value: 'N', help: 'failed check runs tolerated before the gate fails', section: 'soak' },
    },
    {
        name: 'github-token',
        description: 'With it, post GitHub deployment statuses: in_progress while gating, success after promotion, failure (or inactive when cancelled) otherwise. Needs permissions: deployments: write.',
        kind: 'text',
        parsedBy: 'github.ts',
        secret: true,
        example: 'github.token',
    },
    {
        name: 'github-deployment-id',
        description: 'GitHub deployment to post statuses to; without it (and with github-token) the action creates one for environment.',
        kind: 'count',
        parsedBy: 'github.ts',
    },
    {
        name: 'environment',
        description: 'GitHub environment of the deployment the action creates when github-deployment-id is not given.',
        kind: 'text',
        parsedBy: 'github.ts',
        example: 'production',
    },
    {
        name: 'dry-run',
        description: 'Do everything up to the write, which is logged as the exact request instead; result becomes would-promote, would-fail, would-pause, would-resume or would-set-health.',
        default: 'false',
        kind: 'boolean',
        parsedBy: 'parse.ts',
        cli: { help: 'do everything but the write, which is printed instead', section: 'gate' },
    },
];
const BY_NAME = new Map(INPUTS.map((i) => [i.name, i]));
function inputSpec(name) {
    return BY_NAME.get(name);
}

;// CONCATENATED MODULE: ./src/config/values.ts
// One input value, where it came from, and the small parsers every input uses.
// Each failure is an InputError whose message names the input (and the
// variable it came from), quotes the value unless it is secret, and says what
// is accepted. Pure: nothing here reads a file or the network.


/** A bad input value. `input` is the action.yml input name (or the variable, for NOMAD_HTTP_AUTH). */
class InputError extends Error {
    input;
    constructor(input, message) {
        super(message);
        this.name = 'InputError';
        this.input = input;
    }
}
/** A variable's value, trimmed; blank is unset. */
function envValue(env, name) {
    const v = env[name]?.trim();
    return v ? v : undefined;
}
/**
 * Inputs by name from `input` (the action's inputs or the CLI's options; ''
 * when unset, never undefined) and the environment. The defaults are
 * action.yml's, so the CLI gets what the runner fills in for the action.
 */
function readInputs(input, env) {
    const get = (name) => {
        const value = input(name).trim();
        if (value)
            return { input: name, value };
        const spec = inputSpec(name);
        for (const variable of spec.env ?? []) {
            const fromEnv = envValue(env, variable);
            if (fromEnv)
                return { input: name, value: fromEnv, env: variable };
        }
        return spec.default === undefined ? undefined : { input: name, value: spec.default };
    };
    return {
        get,
        withDefault: (name) => {
            const v = get(name);
            if (!v)
                throw new Error(`input ${name} has no default in src/config/inputs.ts`);
            return v;
        },
    };
}
// Messages -------------------------------------------------------------------
function label(v) {
    return `Input '${v.input}'${v.env ? ` (from ${v.env})` : ''}`;
}
/** A value quoted for a message, at most 120 characters. */
function shown(value) {
    const short = value.length > 120 ? `${value.slice(0, 117)}...` : value;
    return JSON.stringify(short);
}
/** `Input 'x' <rest>`. */
function fail(v, rest) {
    throw new InputError(v.input, `${label(v)} ${rest}`);
}
/** `must …` and the offending value, unless it is secret. */
function invalid(v, must, secret = false) {
    fail(v, secret ? `${must} (value not shown)` : `${must} (got ${shown(v.value)})`);
}
// Parsers --------------------------------------------------------------------
// Action booleans are what @actions/core's getBooleanInput accepts (YAML 1.2
// core schema); NOMAD_SKIP_VERIFY is read by Nomad with Go's strconv.ParseBool,
// so a variable also takes 1/0/t/f like the Nomad CLI does.
const TRUE_WORDS = ['true', 'True', 'TRUE'];
const FALSE_WORDS = ['false', 'False', 'FALSE'];
const GO_TRUE = [...TRUE_WORDS, '1', 't', 'T'];
const GO_FALSE = [...FALSE_WORDS, '0', 'f', 'F'];
function parseBoolean(v) {
    if (!v)
        return false;
    const yes = v.env ? GO_TRUE : TRUE_WORDS;
    const no = v.env ? GO_FALSE : FALSE_WORDS;
    if (yes.includes(v.value))
        return true;
    if (no.includes(v.value))
        return false;
    invalid(v, `must be true or false${v.env ? ' (or 1, 0)' : ''}`);
}
function oneOf(v, allowed) {
    if (allowed.includes(v.value))
        return v.value;
    return invalid(v, `must be one of ${allowed.join(', ')}`);
}
/**
 * Split on commas, spaces and newlines. One trailing comma is allowed (a YAML
 * block scalar written `web,\napi,`); any other empty entry (`web,,api`, `,web`)
 * is a mistake worth reporting. Duplicates are dropped, first one wins.
 */
function splitList(v, what) {
    const pieces = v.value.split(',');
    if (pieces.length > 1 && pieces[pieces.length - 1].trim() === '')
        pieces.pop();
    const out = [];
    for (const piece of pieces) {
        const words = piece.split(/\s+/).filter((w) => w !== '');
        if (words.length === 0) {
            invalid(v, `must be ${what} separated by commas, spaces or newlines, with no empty entry`);
        }
        for (const w of words)
            if (!out.includes(w))
                out.push(w);
    }
    return out;
}
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}]/u;
function hasWhitespace(text) {
    return WHITESPACE_OR_CONTROL.test(text);
}
function noWhitespace(v, what) {
    if (!v)
        return undefined;
    if (hasWhitespace(v.value))
        invalid(v, `must be ${what} without whitespace`);
    return v.value;
}
/** A token travels in an HTTP header: visible ASCII only. */
function isHeaderSafe(text) {
    return /^[\x21-\x7e]+$/.test(text);
}
/** Each char in a UUID position: hex digits, and hyphens at 8, 13, 18, 23. */
function isUuidPrefix(s) {
    if (s.length < 1 || s.length > 36)
        return false;
    for (let i = 0; i < s.length; i++) {
        const c = s[i];
        const ok = i === 8 || i === 13 || i === 18 || i === 23 ? c === '-' : /[0-9a-f]/.test(c);
        if (!ok)
            return false;
    }
    return true;
}
/** A whole number, 0 or more, that is exact as a JavaScript number. */
function parseCount(v, must) {
    if (!/^\d+$/.test(v.value) || !Number.isSafeInteger(Number(v.value)))
        invalid(v, must);
    return Number(v.value);
}
/** Longest duration any input takes. */
const MAX_DURATION_MS = 24 * 3_600_000;
/**
 * Milliseconds of a Go-style duration or bare seconds, above 0 (or at 0 with
 * `allowZero`) and at most 24h. `must` says what is accepted; ", at most 24h"
 * is added when the value is over it, and with `boundAlways` to 0 as well.
 */
function parseDurationValue(v, must, options = {}) {
    let ms = 0;
    try {
        ms = parseDuration(v.value);
    }
    catch {
        invalid(v, must);
    }
    // parseDuration refuses a negative value: 0 is the only one too low.
    const zero = ms === 0 && !options.allowZero;
    if (ms > MAX_DURATION_MS || (zero && options.boundAlways))
        invalid(v, `${must}, at most 24h`);
    if (zero)
        invalid(v, must);
    return ms;
}
/**
 * Every value that must never be printed, in the order found. `onSecret` hears
 * of each at once, before anything later can fail: the action masks them.
 */
class SecretList {
    onSecret;
    values = [];
    constructor(onSecret) {
        this.onSecret = onSecret;
    }
    add(secret) {
        if (!secret || this.values.includes(secret))
            return;
        this.values.push(secret);
        this.onSecret?.(secret);
    }
}

;// CONCATENATED MODULE: ./src/config/allocs.ts
// health mode's allocation lists: IDs (or prefixes) or the word `canaries`,
// only with mode health, at least one of them, and never naming one
// allocation in both.

function parseAllocs(inputs, mode) {
    const healthyValue = inputs.get('healthy-allocs');
    const unhealthyValue = inputs.get('unhealthy-allocs');
    const healthy = healthyValue && parseSelector(healthyValue);
    const unhealthy = unhealthyValue && parseSelector(unhealthyValue);
    if (mode !== 'health') {
        const set = healthyValue ?? unhealthyValue;
        if (set)
            fail(set, `is only used with mode 'health' (mode is '${mode}')`);
        return {};
    }
    if (!healthy && !unhealthy) {
        throw new InputError('healthy-allocs', "Input 'healthy-allocs' or input 'unhealthy-allocs' is required with mode 'health': allocation IDs, or the word 'canaries'");
    }
    const out = {
        ...(healthy && { healthyAllocs: healthy }),
        ...(unhealthy && { unhealthyAllocs: unhealthy }),
    };
    if (!healthy || !unhealthy)
        return out;
    if ('canaries' in healthy || 'canaries' in unhealthy) {
        fail(unhealthyValue, "cannot be set when the other list is 'canaries' (every canary would be marked twice); list allocation IDs in both");
    }
    for (const a of healthy.ids) {
        // Prefixes that nest can name the same allocation.
        const b = unhealthy.ids.find((u) => u.startsWith(a) || a.startsWith(u));
        if (b !== undefined) {
            fail(unhealthyValue, `must not name an allocation that healthy-allocs also names (${shown(b)} and ${shown(a)} overlap)`);
        }
    }
    return out;
}
function parseSelector(v) {
    if (v.value === 'canaries')
        return { canaries: true };
    const what = "allocation IDs or ID prefixes, or the word 'canaries'";
    const ids = [...new Set(splitList(v, what).map((id) => id.toLowerCase()))];
    for (const id of ids) {
        if (!isUuidPrefix(id))
            fail(v, `must be ${what}; ${shown(id)} is neither (got ${shown(v.value)})`);
    }
    return { ids };
}

;// CONCATENATED MODULE: ./src/config/github.ts
// The GitHub inputs (a token, and the deployment to post statuses to or the
// environment to create one in) with what the runner says about the run
// (GITHUB_* variables): everything the reporter in src/github.ts needs.

function parseGithub(inputs, env, secrets) {
    const token = inputs.get('github-token');
    const id = inputs.get('github-deployment-id');
    const environment = inputs.get('environment');
    if (!token) {
        if (id || environment) {
            fail((id ?? environment), 'needs github-token to post deployment statuses');
        }
        return undefined;
    }
    secrets.add(token.value);
    if (!isHeaderSafe(token.value))
        invalid(token, 'must be a GitHub token', true);
    const github = { token: token.value, ...runnerContext(env) };
    if (id) {
        if (!/^[1-9]\d*$/.test(id.value)) {
            invalid(id, 'must be a GitHub deployment ID (a positive number)');
        }
        github.deploymentId = Number(id.value);
    }
    if (environment)
        github.environment = environment.value;
    if (!id && !environment) {
        fail(token, 'needs github-deployment-id, or environment to create a deployment in (e.g. production)');
    }
    return github;
}
/** The run as the runner describes it: the repository, the commit, the run's page, the API. */
function runnerContext(env) {
    const server = envValue(env, 'GITHUB_SERVER_URL');
    const repository = envValue(env, 'GITHUB_REPOSITORY');
    const run = envValue(env, 'GITHUB_RUN_ID');
    return {
        repository: repository ?? '',
        ref: envValue(env, 'GITHUB_SHA'),
        logUrl: server && repository && run
            ? `${server.replace(/\/+$/, '')}/${repository}/actions/runs/${run}`
            : undefined,
        apiUrl: envValue(env, 'GITHUB_API_URL') ?? 'https://api.github.com',
    };
}

;// CONCATENATED MODULE: ./src/config/login.ts
// The inputs of the login with a Nomad JWT auth method instead of a token:
// auth-method, auth-audience and login-token (NOMAD_LOGIN_TOKEN). A login
// token is masked as soon as it is read; auth-method with a token is a
// mistake to say at once, not a choice to make silently.

/** structs.ValidACLAuthMethod. */
const AUTH_METHOD_NAME = /^[a-zA-Z0-9-]{1,128}$/;
/** A JWS in compact form: three base64url parts. */
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
function parseLogin(inputs, secrets) {
    const loginToken = inputs.get('login-token');
    secrets.add(loginToken?.value);
    const method = inputs.get('auth-method');
    const audience = inputs.withDefault('auth-audience');
    const token = inputs.get('token');
    if (!method) {
        if (loginToken)
            fail(loginToken, 'needs auth-method: the name of the Nomad JWT auth method to log in with');
        return undefined;
    }
    if (token) {
        secrets.add(token.value);
        const where = token.env ?? 'token';
        fail(method, `cannot be used with a token (${where} is set): auth-method logs in and sends the token Nomad returns. Remove ${where} to log in with auth-method, or remove auth-method to use the token`);
    }
    if (!AUTH_METHOD_NAME.test(method.value)) {
        invalid(method, 'must be the name of a Nomad auth method: letters, digits and hyphens');
    }
    if (!isHeaderSafe(audience.value)) {
        invalid(audience, 'must be an audience without whitespace, such as nomad');
    }
    const login = { authMethod: method.value, audience: audience.value };
    if (loginToken) {
        if (!JWT.test(loginToken.value)) {
            invalid(loginToken, 'must be a JWT: three base64url parts separated by dots', true);
        }
        login.token = loginToken.value;
    }
    return login;
}

;// CONCATENATED MODULE: ./src/redact.ts
// How a URL that may carry credentials is shown. Every place that prints a URL
// a user gave (an address, a check URL) or a server answered with (a redirect's
// Location) goes through here, so none of them prints a password.
/** Query parameters whose values are hidden: `?token=`, `?api_key=`, `?X-Amz-Signature=`... */
const SECRET_PARAM = /token|key|secret|pass|auth|sig|credential|session/i;
/**
 * The URL to show. `mask` (for URLs the user gave): `user:password@` becomes
 * `***@` and the values of secret-looking query parameters become `***`, so the
 * user still recognises the URL. `strip` (for a place a server points to): no
 * userinfo and no query at all. Text that is no URL gets redactUserinfo().
 */
function redactUrl(url, how = 'mask') {
    let u;
    try {
        u = new URL(url);
    }
    catch {
        return redactUserinfo(url);
    }
    if (how === 'strip') {
        u.username = '';
        u.password = '';
        u.search = '';
        return u.toString();
    }
    const userinfo = u.username || u.password ? '***@' : '';
    // Edit the raw query rather than through searchParams, which would re-encode all of it.
    // A key percent-decoded (a `+` for a space may stay: SECRET_PARAM's words are letters only).
    const search = u.search.replace(/([?&])([^=&#]*)=([^&#]*)/g, (whole, sep, key) => SECRET_PARAM.test(percentDecoded(key)) ? `${sep}${key}=***` : whole);
    return `${u.protocol}//${userinfo}${u.host}${u.pathname}${search}${u.hash}`;
}
/**
 * Text as written with everything between `scheme://` (or the start) and the
 * last `@` hidden: that part may hold a password, and a value that does not
 * parse as a URL cannot be trusted to put its `@` where a parser would.
 */
function redactUserinfo(text) {
    const span = userinfoSpan(text);
    return span ? `${text.slice(0, span.start)}***${text.slice(span.end)}` : text;
}
/**
 * The password part of `scheme://user:password@host` as written, and decoded
 * when percent-encoding makes the two differ: what must be masked even in an
 * address that is otherwise invalid. Empty when there is no `:password`.
 */
function userinfoPasswords(text) {
    const span = userinfoSpan(text);
    if (!span)
        return [];
    const info = text.slice(span.start, span.end);
    const colon = info.indexOf(':');
    if (colon < 0 || colon === info.length - 1)
        return [];
    const written = info.slice(colon + 1);
    const decoded = percentDecoded(written);
    return decoded === written ? [written] : [decoded, written];
}
function userinfoSpan(text) {
    const at = text.lastIndexOf('@');
    if (at < 0)
        return undefined;
    const scheme = text.indexOf('://');
    return { start: scheme >= 0 && scheme < at ? scheme + 3 : 0, end: at };
}
/** A URL part (user, password) percent-decoded; as written where that is not valid percent-encoding. */
function percentDecoded(text) {
    try {
        return decodeURIComponent(text);
    }
    catch {
        return text;
    }
}

;// CONCATENATED MODULE: ./src/config/address.ts
// The address input and HTTP basic auth (userinfo in the address, or
// NOMAD_HTTP_AUTH as the Nomad API reads it): the address part of the client's
// Config, with every password found added to the secrets.


/** `address` (or NOMAD_ADDR, or the default), and its credentials or NOMAD_HTTP_AUTH's. */
function parseNomadAddress(inputs, env, secrets) {
    const parsed = parseAddress(inputs.withDefault('address'), secrets);
    // Credentials in the address are more specific than NOMAD_HTTP_AUTH.
    if (parsed.httpAuth)
        return parsed;
    const authEnv = envValue(env, 'NOMAD_HTTP_AUTH');
    return authEnv ? { ...parsed, httpAuth: parseHttpAuth(authEnv, secrets) } : parsed;
}
/** An http(s) URL with nothing after the host; `user:password@` becomes basic auth. */
function parseAddress(v, secrets) {
    // Masked before anything can fail: an invalid address is still a secret's carrier.
    userinfoPasswords(v.value).forEach((p) => secrets.add(p));
    const must = 'must be an http:// or https:// URL such as https://nomad.example.com:4646, with no path, query or fragment';
    const bad = (reason) => fail(v, `${must}; ${reason} (got ${shown(redactUserinfo(v.value))})`);
    if (hasWhitespace(v.value))
        bad('it contains whitespace');
    // WHATWG URL also accepts `http:host` and `http:\\host`; insist on the plain form.
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(v.value);
    if (!scheme)
        return bad('it has no scheme');
    if (!/^https?$/i.test(scheme[1]))
        bad(`the scheme is ${scheme[1]}`);
    let url;
    try {
        url = new URL(v.value);
    }
    catch {
        return bad('it is not a valid URL');
    }
    // An http(s) URL always has a host: WHATWG URL refuses `http://` and `http://:4646`.
    if (url.pathname !== '/')
        bad('it has a path');
    // On the text, not url.search / url.hash, which are empty for a bare `?` or `#`.
    // Neither can be part of a user:password@ (it would end the host there).
    if (/[?#]/.test(v.value))
        bad('it has a query or fragment');
    const address = `${url.protocol}//${url.host}`;
    // With no path, query or fragment, an `@` can only end a user:password@ part.
    if (!v.value.includes('@'))
        return { address };
    if (url.username === '')
        bad('its user:password@ part has no user name');
    const password = percentDecoded(url.password);
    secrets.add(password);
    // The form as the URL keeps it too, where percent-encoding makes the two differ.
    secrets.add(url.password);
    return { address, httpAuth: { username: percentDecoded(url.username), password } };
}
/** NOMAD_HTTP_AUTH as the Nomad API reads it: `user:password`, or `user` alone. */
function parseHttpAuth(value, secrets) {
    const colon = value.indexOf(':');
    const username = colon < 0 ? value : value.slice(0, colon);
    const password = colon < 0 ? '' : value.slice(colon + 1);
    secrets.add(password);
    if (username === '' || /\p{Cc}/u.test(value)) {
        throw new InputError('NOMAD_HTTP_AUTH', 'Environment variable NOMAD_HTTP_AUTH must be user:password or user, with a non-empty user and no control characters (value not shown)');
    }
    return { username, password };
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __nccwpck_require__(7598);
;// CONCATENATED MODULE: external "node:fs"
const external_node_fs_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");
;// CONCATENATED MODULE: external "node:path"
const external_node_path_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:path");
;// CONCATENATED MODULE: ./src/config/pem.ts
// PEM inputs: text pasted into a secret, or the path of a file, or (for a CA)
// a directory of files as NOMAD_CAPATH names one. The only part of parsing that
// reads files; each is checked to parse, so a bad one fails before any request.




const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
/** The certificates of a `ca` or `cert` input, as PEM text holding only them. */
function loadCertificates(v, kind) {
    const { text, where } = pemText(v, kind);
    return `${certBlocks(v, text, where).join('\n')}\n`;
}
/** The private key of a `key` input: its PEM text, and the key to check against a certificate. */
function loadPrivateKey(v) {
    const { text, where } = pemText(v, 'key');
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
        fail(v, `must be an unencrypted PEM private key; ${where} holds an encrypted one`);
    }
    try {
        return { text: `${text.trim()}\n`, key: external_node_crypto_.createPrivateKey(text) };
    }
    catch {
        // The crypto error says nothing useful and the text is secret: say what is expected.
        return fail(v, `must be a PEM private key (PKCS#8, PKCS#1 or SEC1); ${where} does not parse as one`);
    }
}
/** The value itself when it is PEM text, else what the file (or directory) it names holds. */
function pemText(v, kind) {
    if (v.value.includes('-----BEGIN')) {
        return { text: unescapeNewlines(v.value), where: 'the PEM text' };
    }
    return readPath(v, kind);
}
/**
 * Some CI secret stores keep PEM on one line with literal `\n`s. A text on
 * several lines is kept as written. (A one-line text without a `\n` has none
 * to replace: no need to look for one first.)
 */
function unescapeNewlines(text) {
    return text.includes('\n') ? text : text.replace(/\\n/g, '\n');
}
/**
 * The certificate blocks of a PEM text, each checked to parse. Only the blocks
 * are kept, so a combined cert+key file given as client-cert does not carry
 * the key into a non-secret field.
 */
function certBlocks(v, text, where) {
    const blocks = text.match(CERT_BLOCK) ?? [];
    if (blocks.length === 0) {
        fail(v, `must be PEM certificates (-----BEGIN CERTIFICATE-----); none found in ${where}`);
    }
    blocks.forEach((block, i) => {
        try {
            new external_node_crypto_.X509Certificate(block);
        }
        catch (e) {
            fail(v, `has a certificate that does not parse (#${i + 1} in ${where}): ${errText(e)}`);
        }
    });
    return blocks;
}
function errText(e) {
    return e instanceof Error ? e.message : String(e);
}
/** A path may be echoed; a value that cannot be a path may be a pasted secret. */
function mayEcho(v, kind) {
    return kind !== 'key' || (v.value.length <= 1024 && !/[\r\n]/.test(v.value));
}
function readPath(v, kind) {
    const file = v.value;
    const named = mayEcho(v, kind) ? ` ${shown(file)}` : '';
    let stat;
    try {
        stat = external_node_fs_namespaceObject.statSync(file);
    }
    catch (e) {
        const code = e.code;
        const why = code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? errText(e)})`;
        return fail(v, `must be PEM text (-----BEGIN ...) or the path of a readable file; ${why}:${named || ' (value not shown)'}`);
    }
    if (stat.isDirectory()) {
        if (kind !== 'ca')
            fail(v, `must be PEM text or a file path; it is a directory:${named}`);
        return { text: readCaDir(v, file), where: `directory ${shown(file)}` };
    }
    try {
        return { text: external_node_fs_namespaceObject.readFileSync(file, 'utf8'), where: `file${named}` };
    }
    catch (e) {
        const code = e.code;
        return fail(v, `must be a readable file; cannot read${named}: ${code ?? errText(e)}`);
    }
}
/**
 * A directory of CA files, as NOMAD_CAPATH (Go's rootcerts.LoadCAPath). Regular
 * files (symlinks followed) holding at least one certificate are used; other
 * files and subdirectories are skipped, so /etc/ssl/certs works. Duplicates
 * (the hash-named symlinks) are dropped.
 */
function readCaDir(v, dir) {
    const seen = new Set();
    let names;
    try {
        names = external_node_fs_namespaceObject.readdirSync(dir).sort();
    }
    catch (e) {
        return fail(v, `must be a readable directory of CA PEM files; cannot list ${shown(dir)}: ${errText(e)}`);
    }
    for (const name of names) {
        const file = external_node_path_namespaceObject.join(dir, name);
        let text;
        try {
            if (!external_node_fs_namespaceObject.statSync(file).isFile())
                continue;
            text = external_node_fs_namespaceObject.readFileSync(file, 'utf8');
        }
        catch (e) {
            return fail(v, `must be a directory of readable CA PEM files; cannot read ${shown(file)}: ${errText(e)}`);
        }
        if (!CERT_BLOCK.test(text))
            continue;
        CERT_BLOCK.lastIndex = 0;
        for (const block of certBlocks(v, text, `file ${shown(file)}`))
            seen.add(block);
    }
    if (seen.size === 0)
        fail(v, `must name a directory holding PEM CA certificates; none found in ${shown(dir)}`);
    return [...seen].join('\n');
}

;// CONCATENATED MODULE: ./src/config/tls.ts
// The TLS inputs into the client's TLSConfig: the CA to trust, the mTLS pair
// (checked to belong together), the name to verify, and skip-verify.



function parseTls(inputs, secrets) {
    const tls = { skipVerify: parseBoolean(inputs.get('tls-skip-verify')) };
    // ca-cert, else NOMAD_CACERT, else NOMAD_CAPATH (a file or a directory).
    const ca = inputs.get('ca-cert');
    if (ca)
        tls.caCert = loadCertificates(ca, 'ca');
    const certValue = inputs.get('client-cert');
    const keyValue = inputs.get('client-key');
    if (certValue && !keyValue) {
        throw new InputError('client-key', "Input 'client-key' is required when input 'client-cert' is set (mTLS needs both)");
    }
    if (keyValue && !certValue) {
        throw new InputError('client-cert', "Input 'client-cert' is required when input 'client-key' is set (mTLS needs both)");
    }
    if (certValue && keyValue) {
        const cert = loadCertificates(certValue, 'cert');
        const key = loadPrivateKey(keyValue);
        secrets.add(key.text.trim());
        if (!new external_node_crypto_.X509Certificate(cert).checkPrivateKey(key.key)) {
            fail(keyValue, 'must be the private key of the first certificate in client-cert; it does not match');
        }
        tls.clientCert = cert;
        tls.clientKey = key.text;
    }
    const serverName = noWhitespace(inputs.get('tls-server-name'), 'a host name');
    if (serverName)
        tls.serverName = serverName;
    return tls;
}

;// CONCATENATED MODULE: ./src/config/nomad.ts
// The inputs that say where Nomad is and how to talk to it, into the client's
// own Config (src/nomad/config.ts): token, address and basic auth, TLS,
// namespace, region.



function parseNomadConfig(inputs, env, secrets) {
    const token = inputs.get('token');
    if (token) {
        secrets.add(token.value);
        if (!isHeaderSafe(token.value)) {
            invalid(token, 'must be a Nomad ACL token: visible ASCII characters, no whitespace', true);
        }
    }
    const { address, httpAuth } = parseNomadAddress(inputs, env, secrets);
    const config = { address, tls: parseTls(inputs, secrets) };
    if (token)
        config.token = token.value;
    if (httpAuth)
        config.httpAuth = httpAuth;
    const namespaceValue = inputs.get('namespace');
    const namespace = noWhitespace(namespaceValue, 'a namespace name');
    if (namespace !== undefined) {
        // `*` (all namespaces) is for listing; the gate acts on one deployment.
        if (namespace.includes('*'))
            invalid(namespaceValue, 'must be one namespace name, not a wildcard');
        config.namespace = namespace;
    }
    const region = noWhitespace(inputs.get('region'), 'a region name');
    if (region !== undefined)
        config.region = region;
    return config;
}

;// CONCATENATED MODULE: ./src/config/proxy.ts
// The proxy variables, read as @actions/http-client reads them (lib/proxy.ts):
// https_proxy, else HTTPS_PROXY; http_proxy, else HTTP_PROXY; no_proxy, else
// NO_PROXY. A value without a scheme is taken as http://. A proxy's password is a
// secret: masked at once, sent only as Proxy-Authorization, never printed.
// Which requests they apply to: src/net/proxy.ts.


function parseProxies(env, secrets) {
    const config = {};
    const http = proxyVariable(env, ['http_proxy', 'HTTP_PROXY'], secrets);
    const https = proxyVariable(env, ['https_proxy', 'HTTPS_PROXY'], secrets);
    const noProxy = envValue(env, 'no_proxy') ?? envValue(env, 'NO_PROXY');
    if (http)
        config.http = http;
    if (https)
        config.https = https;
    if (noProxy)
        config.noProxy = noProxy;
    return http || https ? config : undefined;
}
function proxyVariable(env, [lower, upper], secrets) {
    const source = envValue(env, lower) !== undefined ? lower : upper;
    const raw = envValue(env, source);
    if (raw === undefined)
        return undefined;
    userinfoPasswords(raw).forEach((p) => secrets.add(p));
    const bad = (why) => {
        throw new InputError(source, `Environment variable ${source} must be an HTTP proxy's URL such as http://proxy.example.com:3128; ${why} (got "${redactUserinfo(raw)}")`);
    };
    let url;
    try {
        url = new URL(raw.includes('://') ? raw : `http://${raw}`);
    }
    catch {
        return bad('it is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        bad(`the scheme is ${url.protocol.slice(0, -1)}, and only http:// and https:// proxies are supported`);
    }
    if (!url.hostname)
        bad('it has no host');
    const user = percentDecoded(url.username);
    const password = percentDecoded(url.password);
    secrets.add(password);
    secrets.add(url.password);
    const setting = { url: new URL(`${url.protocol}//${url.host}`), source };
    if (user || password) {
        setting.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    }
    return setting;
}

;// CONCATENATED MODULE: ./src/config/soak.ts
// The soak and its checks: how long the canaries must stay healthy after they
// pass, and the HTTP and Prometheus checks run meanwhile.


const CHECK_DURATION = 'must be a positive duration such as 30s, 5m or 1h30m';
function parseSoak(inputs, mode, timeoutMs) {
    const soak = inputs.withDefault('soak');
    const soakMs = parseDurationValue(soak, 'must be a non-negative duration such as 30s, 5m or 1h30m', 
    // No boundAlways: with allowZero no value is too low (a negative one does not parse).
    { allowZero: true });
    if (soakMs > 0 && mode !== 'promote' && mode !== 'wait') {
        fail(soak, `only applies to modes 'promote' and 'wait' (mode is '${mode}')`);
    }
    if (soakMs >= timeoutMs) {
        fail(soak, `must be shorter than timeout (${shown(soak.value)} is not less than the timeout)`);
    }
    return { soakMs, checks: parseChecks(inputs, soakMs) };
}
function parseChecks(inputs, soakMs) {
    const urlsValue = inputs.get('check-url');
    const urls = urlsValue ? splitList(urlsValue, 'URLs').map((u) => parseHttpUrl(urlsValue, u)) : [];
    const promUrl = inputs.get('prometheus-url');
    const query = inputs.get('prometheus-query');
    const thresholdValue = inputs.get('prometheus-threshold');
    let prometheus;
    if (promUrl || query || thresholdValue) {
        const first = (promUrl ?? query ?? thresholdValue);
        if (!promUrl || !query || !thresholdValue) {
            fail(first, 'needs all three of prometheus-url, prometheus-query and prometheus-threshold');
        }
        const threshold = Number(thresholdValue.value);
        if (!Number.isFinite(threshold))
            invalid(thresholdValue, 'must be a number such as 0.05');
        prometheus = {
            url: parseHttpUrl(promUrl, promUrl.value).replace(/\/+$/, ''),
            query: query.value,
            threshold,
        };
    }
    const options = { boundAlways: true };
    const checks = {
        urls,
        intervalMs: parseDurationValue(inputs.withDefault('check-interval'), CHECK_DURATION, options),
        timeoutMs: parseDurationValue(inputs.withDefault('check-timeout'), CHECK_DURATION, options),
        failureLimit: parseCount(inputs.withDefault('failure-limit'), 'must be a whole number of failed check runs, 0 or more'),
    };
    if (prometheus)
        checks.prometheus = prometheus;
    if ((urls.length > 0 || prometheus) && soakMs === 0) {
        fail((urlsValue ?? promUrl), 'runs during the soak: set soak (e.g. 5m) as well');
    }
    return checks;
}
/** One URL of the input `v` (which may hold several), as written. */
function parseHttpUrl(v, value) {
    let url;
    try {
        url = new URL(value);
    }
    catch {
        // reported below
    }
    // A text that starts with http:// or https:// and parses is an http(s) URL:
    // its protocol needs no check of its own.
    if (!url || !/^https?:\/\//i.test(value)) {
        fail(v, `must be http:// or https:// URLs (got ${shown(redactUserinfo(value))})`);
    }
    return value;
}

;// CONCATENATED MODULE: ./src/config/target.ts
// Which deployment to gate: exactly one of deployment-id (a UUID or a prefix of
// one) and job (with job-version, optionally).

function parseTarget(inputs) {
    const idValue = inputs.get('deployment-id');
    const jobValue = inputs.get('job');
    const versionValue = inputs.get('job-version');
    if (!idValue && !jobValue) {
        throw new InputError('deployment-id', "Input 'deployment-id' or input 'job' is required (exactly one of them)");
    }
    if (idValue && jobValue) {
        throw new InputError('deployment-id', "Input 'deployment-id' and input 'job' are both set; give exactly one of them");
    }
    if (idValue) {
        if (versionValue)
            fail(versionValue, "can only be used with 'job', not with 'deployment-id'");
        const id = idValue.value.toLowerCase();
        if (!isUuidPrefix(id)) {
            invalid(idValue, 'must be a deployment UUID or a prefix of one, such as 5e7f2a1c (hex digits, hyphens where a UUID has them, at most 36 characters)');
        }
        return { deploymentId: id };
    }
    const job = noWhitespace(jobValue, 'a job ID');
    if (!versionValue)
        return { job };
    return {
        job,
        jobVersion: parseCount(versionValue, 'must be a job version: a whole number, 0 or more'),
    };
}

;// CONCATENATED MODULE: ./src/config/parse.ts
// parseSettings: the action's inputs or the CLI's options, and the environment,
// into one validated Settings, by composing the parsers of each concern. The
// rules that tie inputs together live here or in the parser of their concern;
// every check runs before the first request.











/**
 * Inputs by their action.yml names ('' when unset) and the environment
 * (NOMAD_*, GITHUB_*) into Settings. Throws an InputError at the first bad
 * value; reads only the PEM files the inputs name.
 */
function parseSettings(input, env, options = {}) {
    const secrets = new SecretList(options.onSecret);
    const inputs = readInputs(input, env);
    // HTTPS_PROXY, HTTP_PROXY, NO_PROXY: for Nomad and the soak's checks (GitHub's
    // client, @actions/github, reads them itself, by the same rules).
    const proxy = parseProxies(env, secrets);
    const login = parseLogin(inputs, secrets);
    const nomad = parseNomadConfig(inputs, env, secrets);
    if (proxy)
        nomad.proxy = proxy;
    const target = parseTarget(inputs);
    const mode = oneOf(inputs.withDefault('mode'), MODES);
    const groupsValue = inputs.get('groups');
    const groups = groupsValue ? splitList(groupsValue, 'task group names') : [];
    const timeoutMs = parseDurationValue(inputs.withDefault('timeout'), 'must be a positive duration such as 90s, 10m or 1h30m');
    const onFailure = oneOf(inputs.withDefault('on-failure'), ON_FAILURE);
    const onUnhealthyCanary = oneOf(inputs.withDefault('on-unhealthy-canary'), ON_UNHEALTHY_CANARY);
    const watch = oneOf(inputs.withDefault('watch'), WATCH_METHODS);
    const allocs = parseAllocs(inputs, mode);
    const wait = inputs.withDefault('wait-for-completion');
    const waitForCompletion = parseBoolean(wait);
    if (waitForCompletion && mode !== 'promote') {
        fail(wait, `only applies to mode 'promote' (mode is '${mode}')`);
    }
    const { soakMs, checks } = parseSoak(inputs, mode, timeoutMs);
    if (proxy)
        checks.proxy = proxy;
    const github = parseGithub(inputs, env, secrets);
    const dryRun = parseBoolean(inputs.withDefault('dry-run'));
    const requestTimeoutMs = requestTimeoutFromEnv(env);
    const settings = {
        nomad,
        target,
        mode,
        groups,
        timeoutMs,
        onFailure,
        onUnhealthyCanary,
        watch,
        ...allocs,
        waitForCompletion,
        soakMs,
        checks,
        dryRun,
        secrets: secrets.values,
    };
    if (login)
        settings.login = login;
    if (github)
        settings.github = github;
    if (requestTimeoutMs !== undefined)
        settings.requestTimeoutMs = requestTimeoutMs;
    return settings;
}
/**
 * NOMAD_CANARY_GATE_REQUEST_TIMEOUT: the time limit of a request that is not a
 * blocking query (default 30s). Undocumented; it exists so that tests of a slow
 * server do not take 30 seconds each. Not an input, so a plain Error.
 */
function requestTimeoutFromEnv(env) {
    const raw = env.NOMAD_CANARY_GATE_REQUEST_TIMEOUT;
    if (!raw)
        return undefined;
    const ms = parseDuration(raw);
    if (!(ms > 0)) {
        throw new Error(`NOMAD_CANARY_GATE_REQUEST_TIMEOUT must be a positive duration (got "${raw}")`);
    }
    return ms;
}
/**
 * NOMAD_CANARY_GATE_DEBUG=1 (or true): the CLI's --debug, for a pipeline where
 * adding an option is harder than setting a variable.
 */
function debugFromEnv(env) {
    return /^(1|true|yes)$/i.test(env.NOMAD_CANARY_GATE_DEBUG?.trim() ?? '');
}

;// CONCATENATED MODULE: ./src/github.ts
// GitHub deployment statuses for the gate, so the environment page shows the
// canary as in progress, then success or failure. Reporting is a side show: a
// failure to talk to GitHub is logged and never fails the gate.
//
// @actions/github is imported only here and only when used: loading it (with
// Octokit and undici) costs start-up time that runs without github-token
// should not pay.
/** GitHub rejects a deployment status description longer than this. */
const DESCRIPTION_LIMIT = 140;
/** A hung GitHub must not hold the gate. */
const REQUEST_TIMEOUT_MS = 10_000;
/**
 * Creates the deployment (or takes the given one) and returns a reporter for
 * its statuses. Never rejects: when no deployment can be had, `log` says why
 * and the reporter does nothing.
 */
async function startDeploymentReporter(s, log) {
    const scrub = (text) => (s.token ? text.split(s.token).join('***') : text);
    const warn = (line) => log(scrub(line));
    const none = { deploymentId: 0, status: async () => undefined };
    const repository = s.repository;
    const [owner, repo, extra] = repository.split('/');
    if (!owner || !repo || extra !== undefined) {
        warn(`GitHub deployment statuses not posted: the repository must be owner/repo (got ${JSON.stringify(repository)}; GITHUB_REPOSITORY is set by the runner)`);
        return none;
    }
    const environment = s.environment;
    const logUrl = s.logUrl;
    const baseUrl = s.apiUrl.replace(/\/+$/, '');
    let octokit;
    try {
        const { getOctokit } = await Promise.all(/* import() */[__nccwpck_require__.e(119), __nccwpck_require__.e(157)]).then(__nccwpck_require__.bind(__nccwpck_require__, 157));
        octokit = getOctokit(s.token, { baseUrl });
    }
    catch (err) {
        warn(`GitHub deployment statuses not posted: ${describeError(err)}`);
        return none;
    }
    let deploymentId = s.deploymentId ?? 0;
    if (!deploymentId) {
        const ref = s.ref;
        if (!ref || !environment) {
            warn(`GitHub deployment not created: ${!ref ? 'no ref (GITHUB_SHA is set by the runner)' : 'no environment'}; give github-deployment-id, or environment and a ref`);
            return none;
        }
        try {
            const res = await octokit.rest.repos.createDeployment({
                owner,
                repo,
                ref,
                environment,
                auto_merge: false,
                // Without this GitHub refuses the deployment until every commit status is green.
                required_contexts: [],
                description: 'Nomad canary gate',
                request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
            });
            const id = res.data.id;
            if (typeof id !== 'number') {
                throw new Error(`GitHub answered HTTP ${res.status} without a deployment ID`);
            }
            deploymentId = id;
        }
        catch (err) {
            warn(`GitHub deployment not created in ${repository} for environment "${environment}": ${describeError(err)}`);
            return none;
        }
    }
    let last = Promise.resolve();
    const post = async (state, description) => {
        try {
            await octokit.rest.repos.createDeploymentStatus({
                owner,
                repo,
                deployment_id: deploymentId,
                state,
                description: truncateDescription(description),
                ...(logUrl ? { log_url: logUrl } : {}),
                ...(environment ? { environment } : {}),
                request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
            });
        }
        catch (err) {
            warn(`GitHub deployment status "${state}" not posted to deployment ${deploymentId}: ${describeError(err)}`);
        }
    };
    return {
        deploymentId,
        status(state, description) {
            last = last.then(() => post(state, description));
            return last;
        },
    };
}
/** At most DESCRIPTION_LIMIT characters (code points, so no emoji is cut in half). */
function truncateDescription(text) {
    const chars = Array.from(text.replace(/\s+/g, ' ').trim());
    if (chars.length <= DESCRIPTION_LIMIT)
        return chars.join('');
    return `${chars.slice(0, DESCRIPTION_LIMIT - 1).join('')}…`;
}
/**
 * What went wrong, from Octokit's RequestError (status, GitHub's message) or
 * the socket error beneath it. Built from parts, never from the request, whose
 * headers hold the token.
 */
function describeError(err) {
    const e = err;
    if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
        return `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`;
    }
    const code = e?.cause?.cause?.code ?? e?.cause?.code;
    if (e?.response === undefined) {
        if (code === 'ECONNREFUSED')
            return 'connection refused';
        return code ? `${e?.message ?? String(err)} (${code})` : (e?.message ?? String(err));
    }
    const data = e.response.data;
    let text = typeof data === 'string' ? data : (data?.message ?? '');
    if (typeof data === 'object' && Array.isArray(data?.errors)) {
        const details = data.errors.map((x) => x.message ?? `${x.field ?? ''} ${x.code ?? ''}`.trim());
        if (details.length)
            text += `: ${details.join('; ')}`;
    }
    text = text.trim().replace(/\s+/g, ' ').slice(0, 300) || '(empty body)';
    const hint = e.status === 401
        ? ' (the token is invalid or expired)'
        : e.status === 403 || e.status === 404
            ? ' (the token needs the deployments: write permission on the repository)'
            : '';
    return `HTTP ${e.status}: ${text}${hint}`;
}

;// CONCATENATED MODULE: ./src/report/outputs.ts
// Step outputs (interface.md), on success and on failure, as far as known.
function outputs(o) {
    const d = o.deployment;
    const w = o.write;
    const str = (v) => v === null || v === undefined ? '' : String(v);
    return {
        result: o.result,
        message: o.message,
        'deployment-id': str(d?.ID),
        'job-id': str(d?.JobID),
        'job-version': str(d?.JobVersion),
        namespace: str(d?.Namespace),
        status: str(d?.Status),
        'status-description': str(d?.StatusDescription),
        'eval-id': str(w?.EvalID),
        'eval-create-index': str(w?.EvalCreateIndex),
        'deployment-modify-index': str(w?.DeploymentModifyIndex),
        index: o.index ? String(o.index) : '',
        'reverted-job-version': str(w?.RevertedJobVersion),
        'healthy-canaries': String(o.groups.reduce((n, g) => n + g.healthyCanaries, 0)),
        'desired-canaries': String(o.groups.reduce((n, g) => n + g.desiredCanaries, 0)),
        // Exactly the interface's fields, whatever else the gate keeps per group.
        groups: JSON.stringify(o.groups.map((g) => ({
            name: g.name,
            desiredCanaries: g.desiredCanaries,
            placedCanaries: g.placedCanaries,
            healthyCanaries: g.healthyCanaries,
            unhealthyCanaries: g.unhealthyCanaries,
            promoted: g.promoted,
        }))),
        checks: JSON.stringify(o.checks),
        'elapsed-ms': String(Math.round(o.elapsedMs)),
    };
}
/** The outputs that are numbers, and those that are JSON (interface.md). */
const NUMBERS = new Set([
    'job-version',
    'eval-create-index',
    'deployment-modify-index',
    'index',
    'reverted-job-version',
    'healthy-canaries',
    'desired-canaries',
    'elapsed-ms',
]);
const JSON_OUTPUTS = new Set(['groups', 'checks']);
/**
 * The outputs with their types, for the CLI's --json: numbers as numbers (null
 * when unknown), `groups` and `checks` as arrays, the rest as strings.
 */
function typedOutputs(o) {
    const typed = {};
    for (const [name, value] of Object.entries(outputs(o))) {
        if (NUMBERS.has(name))
            typed[name] = value === '' ? null : Number(value);
        else if (JSON_OUTPUTS.has(name))
            typed[name] = JSON.parse(value);
        else
            typed[name] = value;
    }
    return typed;
}

;// CONCATENATED MODULE: ./src/gate/outcome.ts
// What a step ends with, and the words on the way there: the one vocabulary
// that the gate, the reports and the fronts share. Imports nothing of the gate,
// so every part of it can import this without a cycle.
/**
 * The job's deployments in Nomad's web UI (ui/app/router.js: `jobs/:job_name`
 * with the id `<job>@<namespace>`, and its `deployments` tab); the address
 * without credentials or query.
 */
function nomadUiUrl(address, jobId, namespace) {
    const u = new URL(address);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    const base = u.toString().replace(/\/+$/, '');
    return `${base}/ui/jobs/${encodeURIComponent(jobId)}@${encodeURIComponent(namespace)}/deployments`;
}
/** What a dry run reports instead of the result of a write it did not send. */
const DRY_RUN_RESULT = {
    promoted: 'would-promote',
    failed: 'would-fail',
    paused: 'would-pause',
    resumed: 'would-resume',
    'health-set': 'would-set-health',
};
function shortId(id) {
    return id.slice(0, 8);
}
/** A write's answer, its empty fields left out: `EvalID 5f1c…, DeploymentModifyIndex 12`. */
function describeAnswer(r) {
    const parts = [];
    if (r.EvalID)
        parts.push(`EvalID ${r.EvalID}`);
    if (r.EvalCreateIndex)
        parts.push(`EvalCreateIndex ${r.EvalCreateIndex}`);
    if (r.DeploymentModifyIndex)
        parts.push(`DeploymentModifyIndex ${r.DeploymentModifyIndex}`);
    if (r.RevertedJobVersion != null)
        parts.push(`reverted to job version ${r.RevertedJobVersion}`);
    return parts.join(', ') || 'no fields in the answer';
}

;// CONCATENATED MODULE: ./src/report/summary.ts
// The job summary (Markdown, for GitHub) and the same facts as plain text (CLI).


const MAX_TIMELINE = 200;
function headline(o) {
    return `${o.ok ? 'passed' : 'failed'}: ${o.result} in ${formatDuration(o.elapsedMs)}. ${o.message}`;
}
function summaryMarkdown(o) {
    const d = o.deployment;
    const lines = [];
    lines.push(`### Nomad canary gate: \`${o.result}\` ${o.ok ? '✅' : '❌'}`, '');
    if (d) {
        lines.push(`Deployment \`${d.ID}\` of job \`${cell(d.JobID)}\` version ${d.JobVersion} (namespace \`${cell(d.Namespace)}\`): **${d.Status}**, ${cell(d.StatusDescription)}`, '');
    }
    if (o.groups.length > 0) {
        lines.push('| Group | Desired canaries | Placed | Healthy | Unhealthy | Promoted |');
        lines.push('|---|---:|---:|---:|---:|---|');
        for (const g of o.groups) {
            lines.push(`| ${cell(g.name)} | ${g.desiredCanaries} | ${g.placedCanaries} | ${g.healthyCanaries} | ${g.unhealthyCanaries} | ${g.promoted ? 'yes' : 'no'} |`);
        }
        lines.push('');
    }
    lines.push(`**${o.ok ? 'Passed' : 'Failed'}** in ${formatDuration(o.elapsedMs)}: ${cell(o.message)}`, '');
    if (o.followed) {
        const how = o.followed === 'events' ? "Nomad's event stream" : 'blocking queries';
        lines.push(`Followed with ${how}.`, '');
    }
    if (o.write)
        lines.push(`Nomad's answer to the write: ${describeAnswer(o.write)}`, '');
    if (o.uiUrl)
        lines.push(`[The deployment in Nomad's UI](${o.uiUrl})`, '');
    if (o.checks.length > 0) {
        lines.push('| Check run | At | Result | Details |', '|---:|---:|---|---|');
        o.checks.slice(-MAX_TIMELINE).forEach((run, i) => {
            const details = run.results.map((c) => `${c.name}: ${c.ok ? 'ok' : c.detail}`).join('; ');
            lines.push(`| ${i + 1} | ${formatDuration(run.atMs)} | ${run.ok ? 'passed' : 'failed'} | ${cell(details)} |`);
        });
        lines.push('');
    }
    if (o.timeline.length > 0) {
        lines.push('<details><summary>Timeline</summary>', '', '| At | Event |', '|---:|---|');
        for (const e of o.timeline.slice(-MAX_TIMELINE)) {
            lines.push(`| ${formatDuration(e.atMs)} | ${cell(e.text)} |`);
        }
        lines.push('', '</details>', '');
    }
    return lines.join('\n');
}
function summaryText(o) {
    const rows = [['GROUP', 'DESIRED', 'PLACED', 'HEALTHY', 'UNHEALTHY', 'PROMOTED']];
    for (const g of o.groups) {
        rows.push([
            g.name,
            String(g.desiredCanaries),
            String(g.placedCanaries),
            String(g.healthyCanaries),
            String(g.unhealthyCanaries),
            g.promoted ? 'yes' : 'no',
        ]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    const table = rows.map((r) => r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd());
    const link = o.uiUrl ? [`Nomad UI: ${o.uiUrl}`] : [];
    return [...(o.groups.length ? table : []), headline(o), ...link].join('\n');
}
/** Table cells: no pipes or line breaks from Nomad's texts. */
function cell(text) {
    return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __nccwpck_require__(7067);
;// CONCATENATED MODULE: ./src/network-error.ts
// What a failed connection was, read off the error that Node's http module,
// net/http.ts or fetch (undici) throws: one classification for the Nomad client and the soak
// checks, each of which words it for its own reader.
const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|EPROTO|ERR_OSSL)/;
function classifyNetworkError(err) {
    const top = err;
    const source = (typeof top?.code === 'string' ? top : (top?.cause ?? top));
    // A connection tried on several addresses fails with an AggregateError of them.
    const found = source?.code ?? source?.errors?.find((e) => typeof e.code === 'string')?.code;
    const code = typeof found === 'string' ? found : '';
    return { kind: kindOf(code), code, source: source ?? err };
}
function kindOf(code) {
    switch (code) {
        case 'ECONNREFUSED':
            return 'refused';
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
            return 'dns';
        case 'ECONNRESET':
        case 'UND_ERR_SOCKET':
            return 'reset';
        case 'EHOSTUNREACH':
        case 'ENETUNREACH':
            return 'unreachable';
        case 'ERR_CONNECT_TIMEOUT':
            return 'connect-timeout';
        case 'UND_ERR_HEADERS_TIMEOUT':
        case 'UND_ERR_BODY_TIMEOUT':
            return 'timeout';
    }
    return TLS_CODES.test(code) ? 'tls' : 'other';
}

;// CONCATENATED MODULE: external "node:https"
const external_node_https_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:https");
// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __nccwpck_require__(7030);
// EXTERNAL MODULE: external "node:tls"
var external_node_tls_ = __nccwpck_require__(1692);
;// CONCATENATED MODULE: ./src/text.ts
// Text for a person: every message, annotation and log line is one line. A
// library's text (OpenSSL's, a server's error page) is cleaned before it is
// shown, and a long one is cut at a word, never inside one.
/** Whitespace, line breaks included, folded to one space; cut at a word before `max` with `…`. */
function oneLine(text, max = 300) {
    const t = text.replace(/\s+/g, ' ').trim();
    if (t.length <= max)
        return t;
    const cut = t.slice(0, max - 1);
    const space = cut.lastIndexOf(' ');
    // A single word longer than a third of the room is cut where it must be.
    return `${space > max / 3 ? cut.slice(0, space).replace(/[\s,;:.]+$/, '') : cut}…`;
}
/**
 * OpenSSL's errors as Node puts them in a message
 * (`write EPROTO 80A0...:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/...c:350:`,
 * one per line) become their reasons (`wrong version number`); any other text is only made one line.
 */
function libraryText(message) {
    const reasons = [
        ...message.matchAll(/[0-9A-F]+:error:[0-9A-F]+:[^:\n]*:[^:\n]*:([^:\n]+):[^\n]*?:\d+:/g),
    ].map((m) => m[1].trim());
    if (reasons.length === 0)
        return oneLine(message);
    return [...new Set(reasons)].join('; ');
}

;// CONCATENATED MODULE: ./src/net/proxy.ts
// Which proxy a request goes through, by the rules of @actions/http-client
// (lib/proxy.ts getProxyUrl, checkBypass), which the runner's own tools and
// @actions/github follow: https_proxy (else HTTPS_PROXY) for https:// URLs,
// http_proxy (else HTTP_PROXY) for http:// URLs; none for a loopback host; none
// for a host that no_proxy (else NO_PROXY) lists: `*`, a name (which also
// covers its subdomains), `.suffix`, or `name:port`. The variables are read by
// src/config/proxy.ts; this file only applies them.
/** The proxy to use for `url`, or undefined to connect directly. */
function proxyFor(url, config) {
    if (!config || !url.hostname)
        return undefined;
    const proxy = url.protocol === 'https:' ? config.https : config.http;
    if (!proxy || bypass(url, config.noProxy))
        return undefined;
    return proxy;
}
/** The proxy as printed: its URL without credentials, and its variable. */
function describeProxy(p) {
    return `${p.url.protocol}//${p.url.host} (${p.source})`;
}
function bypass(url, noProxy) {
    if (isLoopback(url.hostname))
        return true;
    if (!noProxy)
        return false;
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    const host = url.hostname.toUpperCase();
    const hosts = [host, `${host}:${port}`];
    return noProxy
        .split(',')
        .map((x) => x.trim().toUpperCase())
        .filter(Boolean)
        .some((item) => item === '*' ||
        hosts.some((h) => h === item || h.endsWith(`.${item}`) || (item.startsWith('.') && h.endsWith(item))));
}
function isLoopback(hostname) {
    const h = hostname.toLowerCase();
    return (h === 'localhost' || h.startsWith('127.') || h.startsWith('[::1]') || h === '[0:0:0:0:0:0:0:1]');
}

;// CONCATENATED MODULE: ./src/net/http.ts
// The one way this project sends an HTTP request: node:http and node:https
// with agents of its own, for Nomad (nomad/transport.ts) and the soak's checks
// (checks.ts). An agent per route: direct; through an HTTP proxy (the request
// in absolute form, for http:// URLs); or through a CONNECT tunnel (for
// https:// URLs), inside which TLS is ours, with the caller's CA, client
// certificate and server name. Which proxy, if any: proxy.ts. Every new
// connection must be up (TCP, the proxy's tunnel, TLS) within the connect
// timeout, so that an address that swallows packets fails in seconds, not in
// the kernel's two minutes.







/**
 * The proxy could not be reached, or refused the tunnel: nothing reached the
 * server. `code` is the socket's (ECONNREFUSED...) or ERR_PROXY_TUNNEL with
 * the proxy's `status`. Its message is one line, shown as it is: a socket's or
 * OpenSSL's text is cleaned (libraryText) where the error is made.
 */
class ProxyError extends Error {
    name = 'ProxyError';
    code;
    /** As printed: URL without credentials, and its variable. */
    proxy;
    status;
    constructor(proxy, what, code, status, cause) {
        super(`${what} (proxy ${describeProxy(proxy)})`, { cause });
        this.code = code;
        this.proxy = describeProxy(proxy);
        this.status = status;
    }
}
/** No connection within the connect timeout. */
class ConnectTimeoutError extends Error {
    ms;
    name = 'ConnectTimeoutError';
    code = 'ERR_CONNECT_TIMEOUT';
    constructor(ms) {
        super(`no connection within ${ms / 1000}s`);
        this.ms = ms;
    }
}
class Dialer {
    options;
    agents = new Map();
    constructor(options) {
        this.options = options;
    }
    /** The way a request to `url` takes. */
    route(url) {
        const proxy = proxyFor(url, this.options.proxy);
        if (!proxy)
            return { mode: 'direct' };
        return { proxy, mode: url.protocol === 'https:' ? 'tunnel' : 'forward' };
    }
    /**
     * Sends one request; resolves with the answer's head (the body unread),
     * rejects with the socket's error, a ProxyError or a ConnectTimeoutError.
     */
    send(url, o) {
        const route = this.route(url);
        const headers = { ...o.headers, host: url.host };
        let req;
        if (route.mode === 'forward') {
            const proxy = route.proxy;
            if (proxy.authorization)
                headers['proxy-authorization'] = proxy.authorization;
            const secure = proxy.url.protocol === 'https:';
            req = (secure ? external_node_https_namespaceObject : external_node_http_).request({
                host: bare(proxy.url.hostname),
                port: proxy.url.port || (secure ? 443 : 80),
                method: o.method,
                // Absolute form: the proxy resolves the name and connects (RFC 9112 3.2.2).
                path: url.href,
                headers,
                agent: this.agent(`forward ${proxy.url.href}`, () => this.forwardAgent(proxy)),
                signal: o.signal,
            });
        }
        else {
            const secure = url.protocol === 'https:';
            const agent = route.mode === 'tunnel'
                ? this.agent(`tunnel ${route.proxy.url.href}`, () => this.tunnelAgent(route.proxy))
                : this.agent(url.protocol, () => (secure ? this.httpsAgent() : this.httpAgent()));
            req = (secure ? external_node_https_namespaceObject : external_node_http_).request({
                host: bare(url.hostname),
                port: url.port || (secure ? 443 : 80),
                method: o.method,
                path: `${url.pathname}${url.search}`,
                headers,
                agent,
                signal: o.signal,
            });
        }
        return new Promise((resolve, reject) => {
            req.once('response', resolve);
            req.once('error', (err) => reject(route.mode === 'forward' ? viaProxy(err, route) : err));
            req.end(o.body);
        });
    }
    /** Closes every idle keep-alive socket so the process can exit. */
    destroy() {
        for (const agent of this.agents.values())
            agent.destroy();
        this.agents.clear();
    }
    agent(key, make) {
        let agent = this.agents.get(key);
        if (!agent)
            this.agents.set(key, (agent = make()));
        return agent;
    }
    httpAgent() {
        return new GuardedHttpAgent({ keepAlive: this.options.keepAlive }, this.options.connectTimeoutMs);
    }
    httpsAgent() {
        return new GuardedHttpsAgent({ keepAlive: this.options.keepAlive, ...this.options.tls }, this.options.connectTimeoutMs);
    }
    /** To the proxy itself: its own certificate is checked against the system's CAs. */
    forwardAgent(proxy) {
        const options = { keepAlive: this.options.keepAlive };
        const ms = this.options.connectTimeoutMs;
        return proxy.url.protocol === 'https:'
            ? new GuardedHttpsAgent(options, ms)
            : new GuardedHttpAgent(options, ms);
    }
    tunnelAgent(proxy) {
        return new TunnelAgent(proxy, { keepAlive: this.options.keepAlive, ...this.options.tls }, this.options.connectTimeoutMs);
    }
}
/** The answer's body as text, as it arrives (to `sink` when given, instead of kept). */
function readText(message, sink) {
    // A connection that breaks mid-body must reject, not leave the read pending.
    return new Promise((resolve, reject) => {
        let text = '';
        message.setEncoding('utf8');
        message.on('data', (c) => {
            if (!sink)
                return void (text += c);
            try {
                sink(c);
            }
            catch (err) {
                message.destroy();
                reject(err);
            }
        });
        message.on('end', () => resolve(text));
        message.on('error', reject);
        message.on('close', () => {
            if (!message.complete)
                reject(Object.assign(new Error('connection closed mid-answer'), { code: 'ECONNRESET' }));
        });
    });
}
/** `[::1]` as a URL writes it, `::1` as a socket wants it. */
function bare(hostname) {
    return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}
/** Codes of a connection that was never made: through a forward proxy, the proxy's. */
const NOT_CONNECTED = new Set([
    'ECONNREFUSED',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ERR_CONNECT_TIMEOUT',
]);
function viaProxy(err, route) {
    const code = err.code;
    if (typeof code !== 'string')
        return err;
    // Forwarded, Nomad's address is http://: the only TLS is with an https:// proxy.
    const proxyTls = route.proxy.url.protocol === 'https:' && classifyNetworkError(err).kind === 'tls';
    if (!NOT_CONNECTED.has(code) && !proxyTls)
        return err;
    return new ProxyError(route.proxy, `cannot connect to the proxy: ${libraryText(err.message)}`, code, undefined, err);
}
/** Destroys `socket` unless it is up (`ready` emitted) within `ms`. */
function guard(socket, ready, ms) {
    const timer = setTimeout(() => socket.destroy(new ConnectTimeoutError(ms)), ms);
    const clear = () => clearTimeout(timer);
    socket.once(ready, clear);
    socket.once('close', clear);
}
class GuardedHttpAgent extends external_node_http_.Agent {
    connectTimeoutMs;
    constructor(options, connectTimeoutMs) {
        super(options);
        this.connectTimeoutMs = connectTimeoutMs;
    }
    createConnection(options) {
        const socket = external_node_net_.createConnection(options);
        guard(socket, 'connect', this.connectTimeoutMs);
        return socket;
    }
}
class GuardedHttpsAgent extends external_node_https_namespaceObject.Agent {
    connectTimeoutMs;
    constructor(options, connectTimeoutMs) {
        super(options);
        this.connectTimeoutMs = connectTimeoutMs;
    }
    createConnection(options, callback) {
        // https.Agent's own: TLS session reuse, then tls.connect.
        const socket = super.createConnection(options, callback);
        guard(socket, 'secureConnect', this.connectTimeoutMs);
        return socket;
    }
}
/**
 * https:// through a proxy: `CONNECT host:port` to the proxy, then TLS to the
 * server over that tunnel, with the agent's TLS options (CA, client
 * certificate, server name): the proxy sees only the encrypted bytes.
 */
class TunnelAgent extends external_node_https_namespaceObject.Agent {
    proxy;
    connectTimeoutMs;
    constructor(proxy, options, connectTimeoutMs) {
        super(options);
        this.proxy = proxy;
        this.connectTimeoutMs = connectTimeoutMs;
    }
    createConnection(options, callback) {
        const proxy = this.proxy;
        const authority = `${options.host?.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
        let settled = false;
        let socket;
        const done = (err, stream) => {
            if (settled)
                return;
            settled = true;
            clearTimeout(timer);
            if (err)
                socket?.destroy();
            callback?.(err, stream);
        };
        const timer = setTimeout(() => done(new ConnectTimeoutError(this.connectTimeoutMs)), this.connectTimeoutMs);
        const secureProxy = proxy.url.protocol === 'https:';
        const at = {
            host: bare(proxy.url.hostname),
            port: Number(proxy.url.port || (secureProxy ? 443 : 80)),
        };
        const toProxy = secureProxy
            ? external_node_tls_.connect({ ...at, servername: external_node_net_.isIP(at.host) ? undefined : at.host })
            : external_node_net_.connect(at);
        socket = toProxy;
        toProxy.once('error', (err) => done(settled
            ? err
            : new ProxyError(proxy, `cannot connect to the proxy: ${libraryText(err.message)}`, String(err.code ?? ''), undefined, err)));
        toProxy.once(secureProxy ? 'secureConnect' : 'connect', () => {
            const auth = proxy.authorization ? `Proxy-Authorization: ${proxy.authorization}\r\n` : '';
            toProxy.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
        });
        let head = Buffer.alloc(0);
        const onData = (chunk) => {
            head = Buffer.concat([head, chunk]);
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) {
                if (head.length > 16_384)
                    done(tunnelRefused(proxy, authority, 0, 'an endless answer'));
                return;
            }
            toProxy.off('data', onData);
            const [statusLine = ''] = head.subarray(0, end).toString('latin1').split('\r\n');
            const m = /^HTTP\/1\.[01] (\d{3})\s*(.*)$/.exec(statusLine);
            const status = m ? Number(m[1]) : 0;
            if (status !== 200) {
                return done(tunnelRefused(proxy, authority, status, m ? `${m[1]} ${m[2]}`.trim() : statusLine));
            }
            // The server speaks only after the client's hello: nothing follows the head.
            toProxy.pause();
            const secure = external_node_tls_.connect({ ...options, socket: toProxy });
            socket = secure;
            // Errors from here on are the server's TLS, not the proxy's.
            secure.once('error', (err) => done(err));
            secure.once('secureConnect', () => done(null, secure));
        };
        toProxy.on('data', onData);
        return undefined;
    }
}
function tunnelRefused(proxy, authority, status, text) {
    const hint = status === 407
        ? `: put the proxy's user and password in ${proxy.source} (http://user:password@host:port)`
        : '';
    return new ProxyError(proxy, `the proxy refused the tunnel to ${authority}: ${text}${hint}`, 'ERR_PROXY_TUNNEL', status);
}

;// CONCATENATED MODULE: ./src/nomad/capabilities.ts
// Which namespace capability each call of the gate needs, and what a token's
// policies grant in a namespace: for a 403 that names what to grant, and for
// the warning at the start that a token evidently cannot write.
//
// Every read is read-job (nomad/deployment_endpoint.go GetDeployment, List,
// Allocations; nomad/job_endpoint.go GetJob; nomad/event_endpoint.go for the
// Job, Deployment and Allocation topics). Each deployment write accepts
// submit-job or, from Nomad 2.0, its own fine-grained capability
// (nomad/deployment_endpoint.go Promote, Pause, Fail, SetAllocHealth:
// AllowNsOpAnyOf(submit-job, ...)). Resume is Pause with Pause: false.
const READ = { anyOf: ['read-job'], what: 'read' };
/** By the deployment write's path segment (deployments.ts writePath). */
const WRITES = {
    promote: { anyOf: ['submit-job', 'promote-deployment'], what: 'promote' },
    pause: { anyOf: ['submit-job', 'pause-deployment'], what: 'pause or resume' },
    fail: { anyOf: ['submit-job', 'fail-deployment'], what: 'fail' },
    'allocation-health': {
        anyOf: ['submit-job', 'set-alloc-health-deployment'],
        what: 'set allocation health',
    },
};
/** The write each kind sends: a mode's or on-failure's. */
const WRITE_NEEDS = {
    promote: WRITES.promote,
    pause: WRITES.pause,
    resume: WRITES.pause,
    fail: WRITES.fail,
    health: WRITES['allocation-health'],
};
/**
 * What a request needs, by its method and path; undefined for the ACL
 * endpoints (token/self and a policy want only a valid token, the login none).
 */
function needFor(method, path) {
    if (path.startsWith('/v1/acl/'))
        return undefined;
    const write = /^\/v1\/deployment\/([a-z-]+)\//.exec(path)?.[1];
    if (method !== 'GET' && write && WRITES[write])
        return WRITES[write];
    return READ;
}
/** `submit-job` / `submit-job or promote-deployment`. */
function describeNeed(need) {
    return need.anyOf.join(' or ');
}
/**
 * The capabilities a token's policies grant in `namespace`, as Nomad merges
 * them (acl/acl.go NewACL: the union per namespace name, `deny` wins over all;
 * AllowNamespaceOperation via matchingNamespaceCapabilitySet: the exact name,
 * else the closest matching glob, findClosestMatchingGlob).
 */
function grantedIn(namespace, rules) {
    const byName = new Map();
    for (const ns of rules) {
        let set = byName.get(ns.Name);
        if (!set)
            byName.set(ns.Name, (set = new Set()));
        if (set.has('deny'))
            continue;
        for (const c of ns.Capabilities ?? []) {
            if (c === 'deny') {
                set.clear();
                set.add('deny');
                break;
            }
            set.add(c);
        }
    }
    const exact = byName.get(namespace);
    if (exact)
        return exact;
    let best;
    for (const [name, set] of [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (!name.includes('*') || !globMatch(name, namespace))
            continue;
        // findAllMatchingWildcards: the characters the glob leaves to its stars.
        const difference = namespace.length - name.replace(/\*/g, '').length;
        if (!best || difference < best.difference)
            best = { difference, set };
    }
    return best?.set ?? new Set();
}
/** ryanuber/go-glob Glob: `*` matches any run of characters. */
function globMatch(pattern, subject) {
    const re = pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    return new RegExp(`^${re.join('.*')}$`, 's').test(subject);
}

;// CONCATENATED MODULE: ./src/nomad/errors.ts
// One error type for everything that can go wrong talking to Nomad, and the
// functions that make one from what went wrong: a status, a broken connection,
// an answer that is not JSON, an abort, a time limit.







class NomadError extends Error {
    kind;
    method;
    path;
    status;
    detail;
    retryable;
    ambiguous;
    constructor(init) {
        const where = `${init.method} ${init.path}`;
        const what = init.status ? `HTTP ${init.status}: ${init.detail}` : init.detail;
        super(`${where} failed: ${what}`, { cause: init.cause });
        this.name = 'NomadError';
        this.kind = init.kind;
        this.method = init.method;
        this.path = init.path;
        this.status = init.status;
        this.detail = init.detail;
        this.retryable = init.retryable;
        this.ambiguous = init.ambiguous;
    }
}
/**
 * Nomad's HTTP layer returns RPC errors as plain text, prefixed `rpc error: ` once per
 * forwarding hop, and multierror texts as `1 error occurred:\n\t* ...\n\n`
 * (command/agent/http.go, hashicorp/go-multierror). Keep the message, drop the noise.
 */
function cleanNomadText(text) {
    let t = text.trim();
    while (/^rpc error:\s*/i.test(t))
        t = t.replace(/^rpc error:\s*/i, '');
    const multi = /^\d+ errors? occurred:\s*/.exec(t);
    if (multi) {
        t = t
            .slice(multi[0].length)
            .split('\n')
            .map((line) => line.replace(/^\s*\*\s*/, '').trim())
            .filter(Boolean)
            .join('; ');
    }
    return oneLine(t, 500);
}
/** Server-side texts of a Nomad that is electing a leader or forwarding badly: retry. */
const TRANSIENT_TEXT = /no cluster leader|no leader|leadership lost|raft|rpc error: eof|\beof\b|i\/o timeout|connection reset|broken pipe|stream closed/i;
/**
 * 5xx texts that are answers, not outages: retrying cannot change them (the
 * deployment endpoints' own checks, nomad/deployment_endpoint.go and
 * state_store.go).
 */
const FINAL_TEXT = /not found|no path to region|permission denied|terminal deployment|healthy allocations|not part of deployment|unknown alloc|must specify|lookup failed|missing deployment id|not implemented/i;
/**
 * Nomad answers nearly every failed RPC with a 500 and a text; any text that is
 * not an answer about the request (FINAL_TEXT) is an outage to wait out
 * (nomad-api.md: "5xx are transient"): `Not ready to serve consistent reads`,
 * `failed to get conn`, a proxy's `Internal Server Error`...
 */
function isTransientStatus(status, text) {
    if (status === 429 || status === 502 || status === 503 || status === 504)
        return true;
    if (status < 500 || status === 501)
        return false;
    return TRANSIENT_TEXT.test(text) || !FINAL_TEXT.test(text);
}
/** Explain an HTTP error status the way a user needs to act on it. */
function describeStatus(status, text, namespace, method, path) {
    const cleaned = cleanNomadText(text) || '(empty body)';
    if (status === 407) {
        return `${cleaned}: a proxy wants credentials: put its user and password in HTTP_PROXY or HTTPS_PROXY (http://user:password@host:port)`;
    }
    if (status === 403) {
        const ns = namespace ?? 'default';
        const need = needFor(method, path);
        if (!need)
            return `${cleaned}: the token is missing, expired or unknown to this cluster`;
        // A write comes after reads that the same token passed: it is there. (An
        // expired token is refused as "ACL token expired", not "Permission denied".)
        const orMissing = method === 'GET' ? ' (or it is missing or expired)' : '';
        return `${cleaned}: to ${need.what}, the token needs ${describeNeed(need)} in namespace "${ns}"${orMissing}`;
    }
    // Any other status is Nomad's text as it is: a 400 too (Go's TLS listener's
    // `HTTP request to an HTTPS server` has its own error, made by fromStatus).
    return cleaned;
}
/** A non-2xx answer: a redirect (never followed) or Nomad's error text. */
function fromStatus(method, path, status, text, location, namespace, address) {
    // Go's TLS listener answers a plain-HTTP request so (net/http/server.go conn.serve).
    if (status === 400 && address && /HTTP request to an HTTPS server/i.test(text)) {
        return new NomadError({
            kind: 'protocol',
            method,
            path,
            detail: `Nomad at ${address} answered that it serves HTTPS: use ${address.replace(/^http:/, 'https:')}`,
            retryable: false,
            ambiguous: false,
        });
    }
    if (status >= 300 && status < 400) {
        const to = !location
            ? '(no Location header)'
            : URL.canParse(location)
                ? redactUrl(location, 'strip')
                : '(an invalid Location header)';
        return new NomadError({
            kind: 'protocol',
            method,
            path,
            status,
            detail: `Nomad answered with a redirect to ${to}, which is not followed so that the token is never sent elsewhere; set the address to the final URL`,
            retryable: false,
            ambiguous: false,
        });
    }
    return new NomadError({
        kind: 'http',
        method,
        path,
        status,
        detail: describeStatus(status, text, namespace, method, path),
        retryable: isTransientStatus(status, text),
        // A gateway error may hide a write the server applied.
        ambiguous: status >= 502 && status <= 504,
    });
}
/**
 * Turn a socket, TLS or proxy error into a NomadError that says where and
 * what to do, in one line. `route`: how the request went, read for its proxy
 * only (none given: direct); a proxy's own failure is worded as the proxy's.
 */
function fromNetworkError(err, method, path, address, route) {
    const base = { method, path, cause: err };
    if (err instanceof ProxyError) {
        return new NomadError({
            ...base,
            kind: 'refused',
            detail: `${err.message}, on the way to Nomad at ${address}: check the proxy, or list the host in NO_PROXY to connect directly`,
            // A proxy that refused the tunnel with a 4xx (407: credentials, 403: not
            // allowed there) answers the same to another try; a 5xx or no answer may pass.
            retryable: err.status === undefined || err.status >= 500,
            ambiguous: false,
        });
    }
    const { kind, code, source } = classifyNetworkError(err);
    const reason = libraryText(source instanceof Error ? source.message : String(source));
    const tunnel = route?.proxy ? ` through the proxy ${describeProxy(route.proxy)}` : '';
    switch (kind) {
        case 'refused':
            return new NomadError({
                ...base,
                kind: 'refused',
                detail: `cannot connect to Nomad at ${address} (connection refused): check the address and that the agent is running`,
                retryable: true,
                ambiguous: false,
            });
        case 'dns': {
            const host = new URL(address).hostname;
            const variable = address.startsWith('https:') ? 'HTTPS_PROXY' : 'HTTP_PROXY';
            return new NomadError({
                ...base,
                kind: 'network',
                detail: code === 'EAI_AGAIN'
                    ? `cannot resolve ${host}, the host of ${address}, now (EAI_AGAIN: DNS did not answer)`
                    : `cannot resolve ${host}, the host of ${address} (${code}): check the address, or set ${variable} if only a proxy reaches it`,
                retryable: code === 'EAI_AGAIN',
                ambiguous: false,
            });
        }
        case 'unreachable':
            return new NomadError({
                ...base,
                kind: 'network',
                detail: `no route to Nomad at ${address} (${code}): check the address, and that the runner's network reaches it (VPN, firewall, proxy variables)`,
                retryable: true,
                ambiguous: false,
            });
        case 'connect-timeout': {
            // Through a proxy, the silent one may be the proxy, or Nomad behind it.
            const fix = tunnel
                ? 'check the proxy, and that it reaches the address and port'
                : 'check the address and port; a firewall may drop the packets, or only a proxy reaches it (HTTPS_PROXY, HTTP_PROXY)';
            return new NomadError({
                ...base,
                kind: 'network',
                detail: `no connection to Nomad at ${address}${tunnel} within ${(source.ms ?? 0) / 1000}s: ${fix}`,
                retryable: true,
                ambiguous: false,
            });
        }
        case 'tls':
            return new NomadError({
                ...base,
                kind: 'tls',
                detail: tlsDetail(address, reason, code),
                retryable: false,
                ambiguous: false,
            });
    }
    return new NomadError({
        ...base,
        kind: 'network',
        detail: `connection to ${address}${tunnel} broke: ${reason}${code && !reason.includes(code) ? ` (${code})` : ''}`,
        retryable: true,
        ambiguous: true,
    });
}
/** What a failed TLS handshake most likely needs, by its code. */
function tlsDetail(address, reason, code) {
    if (/wrong version number|packet length too long|unknown protocol/i.test(reason)) {
        return `Nomad at ${address} answered in plain HTTP, not TLS: use ${address.replace(/^https:/, 'http:')}`;
    }
    // Node 24 adds advice on its own trust store, which the gate does not use: ca-cert is the way.
    const why = reason.replace(/; if the root CA is installed locally, try running Node\.js with --use-system-ca$/, '');
    const what = `TLS with ${address} failed: ${why}${code && !why.includes(code) ? ` (${code})` : ''}`;
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
        return `${what}; set tls-server-name to a name in Nomad's certificate (Nomad's own are server.<region>.nomad, e.g. server.global.nomad)`;
    }
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
        return `${what}; Nomad's certificate is outside its validity dates: renew it (or check the runner's clock)`;
    }
    if (/certificate required|handshake failure|bad certificate/i.test(reason)) {
        return `${what}; Nomad requires a client certificate (verify_https_client): set client-cert and client-key`;
    }
    return `${what}; set ca-cert to the CA that signed Nomad's certificate, tls-server-name to the name in it, or client-cert/client-key if Nomad requires mTLS`;
}
/**
 * Nomad was not reached: no connection, no name, no TLS, the wrong scheme, a
 * proxy that could not get there. Before Nomad's first answer that is most
 * likely the address; after it, an agent restarting or a leader changing.
 */
function notReached(err) {
    return err.kind === 'refused' || err.kind === 'tls' || err.kind === 'network';
}
/**
 * The final form of a failure to reach Nomad that was retried for `ms`
 * without Nomad ever answering: what happened, the likely fix, and how long
 * the gate tried.
 */
function neverReached(err, address, tries, ms) {
    // In the reason after "broke:", not in the address before it (a host may be named "closed-…").
    const reset = err.kind === 'network' && / broke: .*(?:ECONNRESET|hang up|closed)/i.test(err.detail);
    const hint = reset && address.startsWith('http:')
        ? `; if Nomad serves TLS, use ${address.replace(/^http:/, 'https:')}`
        : '';
    return new NomadError({
        kind: err.kind,
        method: err.method,
        path: err.path,
        status: err.status,
        detail: `${err.detail}${hint}; tried ${tries} ${tries === 1 ? 'time' : 'times'} in ${Math.round(ms / 100) / 10}s, and Nomad has not answered once`,
        retryable: false,
        ambiguous: err.ambiguous,
        cause: err,
    });
}
/**
 * A failure in a few words, for the tally of a step's retries
 * (`connection reset (2), No cluster leader (1)`): the same words for the same cause.
 */
function retryCause(err) {
    switch (err.kind) {
        case 'http': {
            const text = err.detail === '(empty body)' ? '' : err.detail;
            const generic = !text || text === external_node_http_.STATUS_CODES[err.status ?? 0];
            return generic ? `HTTP ${err.status}` : oneLine(text, 60);
        }
        case 'refused':
            return err.cause instanceof ProxyError ? 'proxy unreachable' : 'connection refused';
        case 'timeout':
            return 'no answer in time';
        case 'protocol':
            return 'not a Nomad answer';
        case 'tls':
            return 'TLS failed';
        case 'aborted':
            return 'aborted';
    }
    switch (classifyNetworkError(err.cause).kind) {
        case 'reset':
            return 'connection reset';
        case 'dns':
            return 'DNS failed';
        case 'unreachable':
            return 'no route';
        case 'connect-timeout':
            return 'no connection in time';
    }
    return 'connection broke';
}
/** No answer within the request's own time limit. */
function timeoutError(method, path, address, timeoutMs, cause) {
    return new NomadError({
        kind: 'timeout',
        method,
        path,
        detail: `no answer from ${address} within ${timeoutMs} ms`,
        retryable: true,
        ambiguous: true,
        cause,
    });
}
/** The caller's signal ended the request (or the back-off before it). */
function abortedError(method, path, cause, ambiguous = false) {
    return new NomadError({
        kind: 'aborted',
        method,
        path,
        detail: 'aborted',
        retryable: false,
        ambiguous,
        cause,
    });
}
/** A 2xx answer that is not the JSON Nomad sends (cut short, or from a proxy). */
function invalidJsonError(method, path, what) {
    return new NomadError({
        kind: 'protocol',
        method,
        path,
        detail: `the answer is not valid JSON (${what})`,
        retryable: true,
        ambiguous: true,
    });
}

;// CONCATENATED MODULE: ./src/nomad/acl.ts
// The ACL endpoints (api/acl.go): the login of a JWT auth method, the
// request's own token and a policy by name; and what a refused login means,
// read off the texts of nomad/acl_endpoint.go Login, lib/auth/jwt and
// hashicorp/cap's jwt validator.
/** POST /v1/acl/login (the Go client PUTs; Nomad takes both): a JWT for a token of the auth method. */
function loginRequest(authMethod, loginToken) {
    return { path: '/v1/acl/login', body: { AuthMethodName: authMethod, LoginToken: loginToken } };
}
/** GET /v1/acl/token/self: the token the request carries. */
function tokenSelfRequest() {
    return { path: '/v1/acl/token/self' };
}
/** GET /v1/acl/policy/:name: for a management token, or one that holds the policy. */
function policyRequest(name) {
    return { path: `/v1/acl/policy/${encodeURIComponent(name)}` };
}
const REFUSALS = [
    [/ACL support disabled/, 'acl-disabled'],
    [/auth-method ".*" not found/, 'unknown-method'],
    [/unsupported auth-method type/, 'not-jwt'],
    [/invalid audience \(aud\) claim/, 'audience'],
    [/invalid JWT issuer|does not contain issuer information|unable to read iss property/, 'issuer'],
    [/token is expired/, 'expired'],
    [/token not yet valid|token issued in the future/, 'not-yet-valid'],
    [/no issued at \(iat\), not before \(nbf\), or expiration time \(exp\)/, 'no-times'],
    [/malformed jwt|compact JWS format|illegal base64|invalid protected header/, 'malformed'],
    [/fetching keys|validation keys from|unable to parse public key|failed to decode keys/, 'keys'],
    [/failed to verify (id token )?signature|no known key successfully validated/, 'signature'],
    [/token signed with unexpected algorithm|unsupported signing algorithm/, 'algorithm'],
    [/no role or policy bindings matched/, 'no-binding'],
    [/to use JWT ACL auth methods/, 'version'],
];
/** What a failed POST /v1/acl/login says is wrong; `other` for anything else (a network failure...). */
function loginRefusal(err) {
    if (err.kind !== 'http')
        return 'other';
    return REFUSALS.find(([re]) => re.test(err.detail))?.[1] ?? 'other';
}
/**
 * Whether a failed login is worth sending again: nothing reached Nomad, no
 * answer came, or Nomad had no leader. Anything Nomad said about the JWT or
 * the method (400, 401, and the 500s of the binder) stays so.
 */
function isRetryableLogin(err) {
    if (err.kind !== 'http')
        return err.retryable;
    const status = err.status ?? 0;
    if (status === 429 || (status >= 502 && status <= 504))
        return true;
    return (status >= 500 &&
        /no cluster leader|leadership lost|not ready to serve consistent/i.test(err.detail));
}

;// CONCATENATED MODULE: ./src/nomad/json-stream.ts
// A JSON array of objects read as it arrives, each element parsed and mapped on
// its own: neither the whole text nor every full element is ever held at once.
// The list of a deployment's allocations is megabytes with thousands of them,
// on every change; this keeps the gate's memory to what it keeps.

class ArrayStream {
    each;
    out = [];
    /** The text of the element being read, from its `{`. */
    element = '';
    depth = 0;
    inString = false;
    escaped = false;
    closed = false;
    constructor(each) {
        this.each = each;
    }
    feed(chunk, method = 'GET', path = '') {
        try {
            this.scan(chunk);
        }
        catch (err) {
            throw malformed(method, path, err);
        }
    }
    /** The mapped elements; throws when the array did not end. */
    end(method = 'GET', path = '') {
        if (!this.closed)
            throw malformed(method, path, new SyntaxError('the array is not complete'));
        return this.out;
    }
    scan(chunk) {
        let start = this.depth >= 2 ? 0 : -1;
        for (let i = 0; i < chunk.length; i++) {
            if (this.inString) {
                i = this.skipString(chunk, i);
                continue;
            }
            const c = chunk.charCodeAt(i);
            if (c <= 0x20) {
                // whitespace
            }
            else if (this.closed) {
                throw new SyntaxError('text after the array');
            }
            else if (this.depth === 0) {
                if (c !== 0x5b)
                    throw new SyntaxError('not an array');
                this.depth = 1;
            }
            else if (c === 0x7b || c === 0x5b) {
                if (this.depth === 1) {
                    if (c !== 0x7b)
                        throw new SyntaxError('an element that is not an object');
                    start = i;
                }
                this.depth++;
            }
            else if (c === 0x7d || c === 0x5d) {
                this.depth--;
                if (this.depth === 1) {
                    this.element += chunk.slice(start, i + 1);
                    this.out.push(this.each(JSON.parse(this.element)));
                    this.element = '';
                    start = -1;
                }
                else if (this.depth === 0) {
                    if (c !== 0x5d)
                        throw new SyntaxError('unbalanced brackets');
                    this.closed = true;
                }
            }
            else if (this.depth === 1) {
                if (c !== 0x2c)
                    throw new SyntaxError('an element that is not an object');
            }
            else if (c === 0x22) {
                this.inString = true;
            }
        }
        if (start >= 0)
            this.element += chunk.slice(start);
    }
    /** From `i` inside a string: the index of its closing quote, or the chunk's last index. */
    skipString(chunk, i) {
        if (this.escaped) {
            this.escaped = false;
            i++;
        }
        for (let from = i;;) {
            const q = chunk.indexOf('"', from);
            // Backslashes just before the quote (or the chunk's end): an odd run escapes it.
            const end = q < 0 ? chunk.length : q;
            let run = 0;
            while (end - 1 - run >= i && chunk.charCodeAt(end - 1 - run) === 0x5c)
                run++;
            if (q < 0) {
                this.escaped = run % 2 === 1;
                return chunk.length - 1;
            }
            if (run % 2 === 0) {
                this.inString = false;
                return q;
            }
            from = q + 1;
        }
    }
}
function malformed(method, path, err) {
    return invalidJsonError(method, path, err instanceof Error ? err.message : String(err));
}

;// CONCATENATED MODULE: ./src/nomad/types.ts
// The Nomad objects the gate reads and writes, with Nomad's own field names
// (nomad/structs/structs.go, api/deployments.go). Only the fields we use or the
// simulator serves are typed; Nomad sends more.
/** Statuses after which a deployment never changes again (structs.Deployment.Active). */
const TERMINAL_DEPLOYMENT_STATUSES = [
    'failed',
    'successful',
    'cancelled',
];
/** From a list stub, or from the full allocation an event carries (the same field names). */
function allocView(a) {
    const { ID, Name, TaskGroup, DesiredStatus, ClientStatus, DeploymentStatus, ModifyIndex } = a;
    return { ID, Name, TaskGroup, DesiredStatus, ClientStatus, DeploymentStatus, ModifyIndex };
}
/** An allocation is terminal once the server wants it stopped or the client reports it ended (structs.Allocation.TerminalStatus). */
function allocIsTerminal(a) {
    return (a.DesiredStatus === 'stop' ||
        a.DesiredStatus === 'evict' ||
        a.ClientStatus === 'complete' ||
        a.ClientStatus === 'failed' ||
        a.ClientStatus === 'lost');
}

;// CONCATENATED MODULE: ./src/nomad/deployments.ts
// The deployment endpoints (api/deployments.go): what each read asks and how
// its answer is read, and the path and body of each write.


const id = (deploymentId) => encodeURIComponent(deploymentId);
/** GET /v1/deployments?prefix=: Nomad matches whole bytes of the ID (see gate/resolve.ts). */
function deploymentListRequest(prefix) {
    return { path: '/v1/deployments', params: { prefix } };
}
/** GET /v1/deployment/:id: the full ID only. */
function deploymentRequest(deploymentId) {
    return { path: `/v1/deployment/${id(deploymentId)}` };
}
/**
 * GET /v1/deployment/allocations/:id, as AllocViews. With thousands of
 * allocations the answer is megabytes on every change: each stub is parsed and
 * cut down on its own, so the full stubs (task states and all) never all live at once.
 */
function deploymentAllocationsRequest(deploymentId) {
    return {
        path: `/v1/deployment/allocations/${id(deploymentId)}`,
        reader: () => new ArrayStream(allocView),
    };
}
const writePath = (verb, deploymentId) => `/v1/deployment/${verb}/${id(deploymentId)}`;
/** No groups: `All: true`. Nomad ignores unknown groups silently, so callers check them first. */
function promoteRequest(deploymentId, groups) {
    return {
        path: writePath('promote', deploymentId),
        body: groups.length === 0
            ? { DeploymentID: deploymentId, All: true, Groups: null }
            : { DeploymentID: deploymentId, All: false, Groups: groups },
    };
}
/** `pause: false` resumes. */
function pauseRequest(deploymentId, pause) {
    return {
        path: writePath('pause', deploymentId),
        body: { DeploymentID: deploymentId, Pause: pause },
    };
}
function failRequest(deploymentId) {
    return { path: writePath('fail', deploymentId), body: { DeploymentID: deploymentId } };
}
/** Full allocation IDs only: the server does not resolve prefixes here. */
function allocHealthRequest(deploymentId, healthy, unhealthy) {
    return {
        path: writePath('allocation-health', deploymentId),
        body: {
            DeploymentID: deploymentId,
            HealthyAllocationIDs: healthy,
            UnhealthyAllocationIDs: unhealthy,
        },
    };
}

;// CONCATENATED MODULE: ./src/nomad/events.ts
// Nomad's event stream (Nomad 1.0+): GET /v1/event/stream, newline-delimited
// JSON (command/agent/event_endpoint.go EventStream, api/event_stream.go).
// Each line is a heartbeat `{}` (at once on subscribing, then every 30 s) or
// the events of one raft index `{"Index":N,"Events":[...]}`; there is no
// X-Nomad-Index header. `index` asks the broker to replay from the first
// buffered index at or after it (nomad/stream/event_buffer.go StartAtClosest):
// with no signal for a gap, a subscriber reads the state after subscribing.
//
// A stream that cannot be had shows three ways: a 403 or a 500 `EventBroker
// not configured` (Nomad up to 1.11.1), or, from 1.11.2 on, where the agent
// hijacks the connection and writes `200` before the RPC runs, a 200 whose
// connection closes (or stays silent). Telling those apart is the caller's:
// this reads one subscription until it ends.

const PATH = '/v1/event/stream';
/**
 * Reads one subscription: resolves when the server ends the stream (which, for
 * a gate that did not ask it to, is a drop), rejects with a NomadError when it
 * is refused, breaks or sends what is not JSON; resolves at once on `signal`.
 */
async function readEventStream(transport, sub, on) {
    const params = new URLSearchParams();
    for (const topic of sub.topics)
        params.append('topic', topic);
    if (sub.index !== undefined)
        params.set('index', String(sub.index));
    let message;
    try {
        message = await transport.open({ path: PATH, params, signal: sub.signal });
    }
    catch (err) {
        if (sub.signal.aborted)
            return;
        throw err;
    }
    await readLines(message, sub.signal, transport.address, (line) => {
        let value;
        try {
            value = JSON.parse(line);
        }
        catch {
            throw new NomadError({
                kind: 'protocol',
                method: 'GET',
                path: PATH,
                detail: `the event stream sent a line that is not JSON (${JSON.stringify(line.slice(0, 60))})`,
                retryable: true,
                ambiguous: false,
            });
        }
        const b = value;
        if (typeof b.Index === 'number' && Array.isArray(b.Events))
            on.batch(b);
        else
            on.heartbeat();
    });
}
/** Calls `each` with every complete line as it arrives; ends with the body. */
function readLines(message, signal, address, each) {
    return new Promise((resolve, reject) => {
        // A line (the deployment's event, tens of kB at 200 groups) often spans
        // chunks: only each new chunk is searched for its end.
        let partial = [];
        const stop = () => {
            message.destroy();
            resolve();
        };
        signal.addEventListener('abort', stop, { once: true });
        const done = (err) => {
            signal.removeEventListener('abort', stop);
            if (err === undefined || signal.aborted)
                resolve();
            else
                reject(err);
        };
        message.setEncoding('utf8');
        message.on('data', (chunk) => {
            let start = 0;
            for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
                const tail = chunk.slice(start, nl);
                const line = (partial.length > 0 ? partial.join('') + tail : tail).trim();
                partial = [];
                start = nl + 1;
                if (line === '')
                    continue;
                try {
                    each(line);
                }
                catch (err) {
                    message.destroy();
                    return done(err);
                }
            }
            if (start < chunk.length)
                partial.push(chunk.slice(start));
        });
        message.on('end', () => done());
        message.on('error', (err) => done(signal.aborted ? undefined : fromNetworkError(err, 'GET', PATH, address)));
        message.on('close', () => {
            if (signal.aborted)
                done();
            else if (!message.complete)
                done(abortedError('GET', PATH, new Error('the event stream broke'), false));
            else
                done();
        });
    });
}

;// CONCATENATED MODULE: ./src/nomad/jobs.ts
// The job endpoints the gate reads (api/jobs.go).
const path = (jobId, rest = '') => `/v1/job/${encodeURIComponent(jobId)}${rest}`;
/** GET /v1/job/:job_id: the job's current version; 404 `job not found`. */
function jobRequest(jobId) {
    return { path: path(jobId) };
}
/** GET /v1/job/:job_id/deployment: the latest deployment, or `null` when none (or no such job). */
function jobLatestDeploymentRequest(jobId) {
    return { path: path(jobId, '/deployment') };
}
/** GET /v1/job/:job_id/deployments: in the server's order, by deployment ID, not by age. */
function jobDeploymentsRequest(jobId) {
    return { path: path(jobId, '/deployments') };
}
/** GET /v1/job/:job_id/evaluations: every evaluation of the job, in the server's order. */
function jobEvaluationsRequest(jobId) {
    return { path: path(jobId, '/evaluations') };
}
/** Highest CreateIndex first, as the Go client sorts them (api/evaluations.go EvalIndexSort). */
function newestEvaluationsFirst(evaluations) {
    return evaluations.sort((a, b) => b.CreateIndex - a.CreateIndex);
}

;// CONCATENATED MODULE: ./src/nomad/query.ts
// The shape of every read and write, as in Nomad's Go API client (api/api.go
// QueryOptions, QueryMeta, WriteOptions, WriteMeta), and what turns a read into
// a blocking query. One shape for every endpoint keeps blocking queries uniform.
/** The server caps a blocking query's wait at 5 minutes (nomad/rpc.go). */
const MAX_WAIT_MS = 5 * 60_000;
/** The server adds up to wait/16 of jitter to a blocking query (nomad/rpc.go); allow that plus a margin. */
function blockingTimeoutMs(waitMs) {
    return waitMs + Math.ceil(waitMs / 16) + 5_000;
}
/**
 * The query parameters that make a read block (`index`, `wait`) and the time
 * limit that fits them; a read without an index gets `requestTimeoutMs`.
 */
function blockingParams(q, requestTimeoutMs) {
    if (!q.index || q.index <= 0)
        return { params: {}, timeoutMs: requestTimeoutMs };
    const waitMs = Math.max(1, Math.round(Math.min(q.waitMs ?? MAX_WAIT_MS, MAX_WAIT_MS)));
    return {
        params: { index: String(q.index), wait: `${waitMs}ms` },
        timeoutMs: blockingTimeoutMs(waitMs),
    };
}
/** X-Nomad-Index, X-Nomad-KnownLeader and X-Nomad-LastContact of an answer. */
function queryMeta(headers) {
    return {
        lastIndex: headerNumber(headers, 'x-nomad-index'),
        knownLeader: headers['x-nomad-knownleader'] === 'true',
        lastContact: headerNumber(headers, 'x-nomad-lastcontact'),
    };
}
function headerNumber(headers, name) {
    const raw = headers[name];
    const n = Number(Array.isArray(raw) ? raw[0] : raw);
    return Number.isFinite(n) ? n : 0;
}

;// CONCATENATED MODULE: external "node:timers/promises"
const promises_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:timers/promises");
;// CONCATENATED MODULE: ./src/nomad/retry.ts
// When a failed read is sent again: capped exponential back-off (as the Go
// client's api/retry.go calculateDelay, plus jitter), until the caller's
// deadline, never after its signal. Writes are never retried here: a write whose
// answer was lost is re-read first (gate/mutate.ts).


const DEFAULT_RETRY = { baseMs: 200, maxMs: 5_000 };
/** Capped exponential back-off with "equal jitter": half fixed, half random. */
function backoffMs(policy, attempt) {
    const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt - 1, 20));
    return Math.round(cap / 2 + Math.random() * (cap / 2));
}
/** Waits `ms`; rejects at once (an AbortError) when the signal fires. */
function sleep(ms, signal) {
    return (0,promises_namespaceObject.setTimeout)(ms, undefined, { signal });
}
/**
 * Runs `attempt` until it resolves, or fails in a way a retry cannot change,
 * or the deadline has passed: then the last failure is thrown.
 */
async function retrying(attempt, o) {
    let failed;
    for (let n = 1;; n++) {
        const started = performance.now();
        try {
            return await attempt();
        }
        catch (err) {
            // Aborted on a retry: say why it was being retried.
            if (failed && err instanceof NomadError && err.kind === 'aborted') {
                throw abortedError(o.method, o.path, failed);
            }
            if (!(err instanceof NomadError))
                throw err;
            if (!(o.retryable ? o.retryable(err) : err.retryable))
                throw err;
            failed = err;
            // Retry until the deadline itself (the last try is at the deadline): the
            // read fails for good only once the deadline has passed. Timers count
            // whole milliseconds and may fire up to one early: under 1 ms left is none.
            const left = o.deadline === undefined ? Infinity : o.deadline - performance.now();
            if (left < 1)
                throw err;
            const delayMs = Math.min(backoffMs(o.policy, n), Math.ceil(left));
            const final = o.giveUp?.(err, n, delayMs, performance.now() - started);
            if (final)
                throw final;
            o.onRetry?.(err, n, delayMs);
            await sleep(delayMs, o.signal).catch(() => {
                throw abortedError(o.method, o.path, err);
            });
        }
    }
}

;// CONCATENATED MODULE: ./src/nomad/transport.ts
// One HTTP exchange with Nomad: the connection (net/http.ts: keep-alive, TLS,
// the proxy variables, the connect timeout), the headers, the time limit and
// the caller's abort, reading the body as it arrives, and every failure as a
// NomadError. Retries are the client's (retry.ts); paths are the endpoints'
// (deployments.ts, jobs.ts). No redirect is followed: X-Nomad-Token would go
// along to wherever it points.


/** A new connection to Nomad (through a proxy's tunnel, TLS included) must be up within this. */
const CONNECT_TIMEOUT_MS = 5_000;
class Transport {
    address;
    /** A 2xx answer has come from Nomad: the address, the scheme and the way there are right. */
    contacted = false;
    config;
    dialer;
    userAgent;
    onExchange;
    constructor(config, userAgent, onExchange) {
        const url = new URL(config.address);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
            throw new Error(`Nomad address must start with http:// or https:// (got "${url.protocol}//${url.host}")`);
        }
        this.config = config;
        this.address = config.address;
        this.userAgent = userAgent;
        this.onExchange = onExchange;
        const tls = config.tls;
        // Keep-alive: the blocking loop sends a request per change; a warm socket
        // saves the TCP (and TLS) handshake on the path that decides the latency.
        this.dialer = new Dialer({
            keepAlive: true,
            connectTimeoutMs: CONNECT_TIMEOUT_MS,
            proxy: config.proxy,
            tls: {
                ca: tls.caCert,
                cert: tls.clientCert,
                key: tls.clientKey,
                servername: tls.serverName,
                rejectUnauthorized: !tls.skipVerify,
            },
        });
    }
    /** Close idle keep-alive sockets so the process can exit. */
    close() {
        this.dialer.destroy();
    }
    /** How requests to Nomad go: directly, or through which proxy. */
    get route() {
        return this.dialer.route(new URL(this.address));
    }
    /** `params` as a record, or search parameters that may repeat (the event stream's `topic`). */
    url(path, params = {}) {
        const url = new URL(path, this.address);
        const entries = params instanceof URLSearchParams ? [...params] : Object.entries(params);
        for (const [k, v] of entries)
            url.searchParams.append(k, v);
        if (this.config.namespace)
            url.searchParams.set('namespace', this.config.namespace);
        if (this.config.region)
            url.searchParams.set('region', this.config.region);
        return url;
    }
    /** Resolves with a 2xx answer's JSON body, rejects with a NomadError otherwise. */
    async exchange(x) {
        const { method, path, data, signal, reader } = x;
        const timeout = AbortSignal.timeout(x.timeoutMs);
        const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
        const url = this.url(path, x.params);
        const started = performance.now();
        let message;
        try {
            let text;
            try {
                message = await this.dialer.send(url, {
                    method,
                    headers: this.headers(data !== undefined),
                    body: data,
                    signal: combined,
                });
                const ok = isOk(message.statusCode);
                text = await readText(message, reader && ok ? (c) => reader.feed(c, method, path) : undefined);
            }
            catch (err) {
                if (err instanceof NomadError)
                    throw err;
                if (signal?.aborted)
                    throw abortedError(method, path, err, data !== undefined);
                if (timeout.aborted)
                    throw timeoutError(method, path, this.address, x.timeoutMs, err);
                throw fromNetworkError(err, method, path, this.address, this.dialer.route(url));
            }
            if (!isOk(message.statusCode))
                throw this.statusError(method, path, message, text);
            const body = reader ? reader.end(method, path) : parseJson(text, method, path);
            this.contacted = true;
            this.record(method, url, started, message);
            return { body, headers: message.headers };
        }
        catch (err) {
            this.record(method, url, started, message, err);
            throw err;
        }
    }
    /**
     * A GET whose 2xx answer is handed over unread, for a body that streams (the
     * event stream): the caller reads it and ends it with its signal. A non-2xx
     * answer is read and thrown as a NomadError, as by exchange().
     */
    async open(x) {
        const { path, signal } = x;
        const method = x.method ?? 'GET';
        const timeout = x.timeoutMs ? AbortSignal.timeout(x.timeoutMs) : undefined;
        const own = new AbortController();
        // The time limit covers the head only: the stream lives on after it.
        const onLimit = () => own.abort(timeout?.reason);
        timeout?.addEventListener('abort', onLimit, { once: true });
        const combined = signal ? AbortSignal.any([signal, own.signal]) : own.signal;
        const url = this.url(path, x.params);
        const started = performance.now();
        let message;
        try {
            message = await this.dialer.send(url, {
                method,
                headers: this.headers(false),
                signal: combined,
            });
        }
        catch (err) {
            const e = signal?.aborted
                ? abortedError(method, path, err, false)
                : own.signal.aborted
                    ? timeoutError(method, path, this.address, x.timeoutMs ?? 0, err)
                    : fromNetworkError(err, method, path, this.address, this.dialer.route(url));
            this.record(method, url, started, undefined, e);
            throw e;
        }
        finally {
            timeout?.removeEventListener('abort', onLimit);
        }
        if (isOk(message.statusCode)) {
            this.contacted = true;
            this.record(method, url, started, message);
            return message;
        }
        const text = await readText(message).catch(() => '');
        const e = this.statusError(method, path, message, text);
        this.record(method, url, started, message, e);
        throw e;
    }
    statusError(method, path, m, text) {
        const status = m.statusCode ?? 0;
        const ns = this.config.namespace;
        return fromStatus(method, path, status, text, m.headers.location, ns, this.address);
    }
    headers(withBody) {
        const headers = {
            accept: 'application/json',
            'user-agent': this.userAgent,
        };
        if (this.config.token)
            headers['x-nomad-token'] = this.config.token;
        if (this.config.httpAuth) {
            const { username, password } = this.config.httpAuth;
            headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
        }
        if (withBody)
            headers['content-type'] = 'application/json';
        return headers;
    }
    record(method, url, started, message, error) {
        if (!this.onExchange)
            return;
        const raw = message?.headers['x-nomad-index'];
        const index = Number(Array.isArray(raw) ? raw[0] : raw);
        this.onExchange({
            method,
            target: `${url.pathname}${url.search}`,
            status: message?.statusCode ?? 0,
            index: Number.isFinite(index) ? index : 0,
            ms: performance.now() - started,
            error: error instanceof NomadError ? error : undefined,
        });
    }
}
function isOk(status) {
    return (status ?? 0) >= 200 && (status ?? 0) < 300;
}
function parseJson(text, method, path) {
    try {
        return JSON.parse(text);
    }
    catch {
        const what = `${text.length} bytes: ${JSON.stringify(text.slice(0, 60))}`;
        throw invalidJsonError(method, path, what);
    }
}

;// CONCATENATED MODULE: ./src/nomad/client.ts
// NomadClient: the endpoints the gate uses over one transport, shaped like
// Nomad's Go API client (api/api.go): every read takes QueryOptions and returns
// the body with a QueryMeta, retried on transient failures until the caller's
// deadline; every write returns the body with a WriteMeta and is never retried
// here (see gate/mutate.ts for the re-read rule).
//
// This module is the Nomad package's one door: besides NomadClient it passes on
// what a caller of it needs (the query shapes, the write requests, the back-off
// and sleep), so the gate imports from here only.













/**
 * Before Nomad's first answer, a failure to reach it (refused, reset, no name,
 * TLS, a proxy that cannot get there) is retried this long, then final: a
 * mistyped address must not wait out the step's timeout. An agent that is
 * still starting gets these seconds; after a first answer the same failures are
 * retried until the deadline.
 */
const FIRST_CONTACT_MS = 8_000;
class NomadClient {
    address;
    namespace;
    /** A token is sent (X-Nomad-Token): the given one, or the one a login returned. */
    hasToken;
    /** Time limit of a request that is not a blocking query (a write's too). */
    requestTimeoutMs;
    transport;
    retry;
    onRetry;
    /** performance.now() of the first request: where the first-contact budget starts. */
    firstSentAt;
    constructor(config, options = {}) {
        this.transport = new Transport(config, options.userAgent ?? 'nomad-canary-gate', options.onExchange);
        this.address = config.address;
        this.namespace = config.namespace;
        this.hasToken = Boolean(config.token);
        this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
        this.retry = options.retry ?? DEFAULT_RETRY;
        this.onRetry = options.onRetry;
    }
    /** Close idle keep-alive sockets so the process can exit. */
    close() {
        this.transport.close();
    }
    /** How requests to Nomad go: directly, or through which proxy. */
    get route() {
        return this.transport.route;
    }
    /** Nomad has answered once: the address is right. */
    get contacted() {
        return this.transport.contacted;
    }
    /**
     * Tells the client's onRetry of a request that a caller sends again itself
     * and has logged in its own words (a write: gate/write.ts), so every retry
     * of a step is counted in one place.
     */
    reportRetry(err, attempt, delayMs) {
        this.onRetry?.(err, attempt, delayMs, true);
    }
    // Reads -------------------------------------------------------------------
    listDeployments(prefix, q = {}) {
        return this.query(deploymentListRequest(prefix), q);
    }
    deployment(id, q = {}) {
        return this.query(deploymentRequest(id), q);
    }
    /** The deployment's allocations, each cut down to an AllocView as it arrives. */
    deploymentAllocations(id, q = {}) {
        return this.query(deploymentAllocationsRequest(id), q);
    }
    /** The job at its current version. */
    job(jobId, q = {}) {
        return this.query(jobRequest(jobId), q);
    }
    /** The job's latest deployment, or null when it has none (or no such job exists). */
    jobLatestDeployment(jobId, q = {}) {
        return this.query(jobLatestDeploymentRequest(jobId), q);
    }
    /** The job's deployments, in the server's order (by ID): sort by CreateIndex for age. */
    jobDeployments(jobId, q = {}) {
        return this.query(jobDeploymentsRequest(jobId), q);
    }
    /**
     * One subscription to the event stream (events.ts): resolves when the server
     * ends it, rejects when it is refused or breaks. Not retried: the caller
     * reads the state again after every (re)connect.
     */
    eventStream(sub, on) {
        return readEventStream(this.transport, sub, on);
    }
    /** The job's evaluations, newest (highest CreateIndex) first. */
    async jobEvaluations(jobId, q = {}) {
        const res = await this.query(jobEvaluationsRequest(jobId), q);
        return { body: newestEvaluationsFirst(res.body), meta: res.meta };
    }
    /** The token this client sends (GET /v1/acl/token/self). */
    tokenSelf(q = {}) {
        return this.query(tokenSelfRequest(), q);
    }
    /** An ACL policy, with the capabilities each namespace block expands to. */
    policy(name, q = {}) {
        return this.query(policyRequest(name), q);
    }
    // ACL login ---------------------------------------------------------------
    /**
     * POST /v1/acl/login: the token that the JWT auth method `authMethod` gives
     * for `loginToken`. Sent again (until `q.deadline`) only when nothing final
     * was said: a login that is retried creates one more short-lived token.
     */
    login(authMethod, loginToken, q = {}) {
        const { path, body } = loginRequest(authMethod, loginToken);
        const attempt = async () => {
            try {
                const res = await this.transport.exchange({
                    method: 'POST',
                    path,
                    data: JSON.stringify(body),
                    timeoutMs: this.requestTimeoutMs,
                    signal: q.signal,
                });
                return { body: res.body, meta: { lastIndex: headerNumber(res.headers, 'x-nomad-index') } };
            }
            catch (err) {
                if (err instanceof NomadError && err.retryable && !isRetryableLogin(err)) {
                    throw new NomadError({ ...err, retryable: false, cause: err.cause });
                }
                throw err;
            }
        };
        return retrying(attempt, {
            policy: this.retry,
            deadline: q.deadline,
            signal: q.signal,
            onRetry: this.onRetry,
            method: 'POST',
            path,
        });
    }
    // Writes: never retried here; see gate/mutate.ts for the re-read rule ------
    promote(id, groups, w = {}) {
        return this.write(promoteRequest(id, groups), w);
    }
    pause(id, pause, w = {}) {
        return this.write(pauseRequest(id, pause), w);
    }
    fail(id, w = {}) {
        return this.write(failRequest(id), w);
    }
    setAllocHealth(id, healthy, unhealthy, w = {}) {
        return this.write(allocHealthRequest(id, healthy, unhealthy), w);
    }
    /** The exact request a write sends, as one line (for dry runs and logs). */
    describe(req) {
        return `PUT ${this.transport.url(req.path).toString()} ${JSON.stringify(req.body)}`;
    }
    // The two shapes every endpoint above is sent in ---------------------------
    /** A read, as a blocking query when `q.index` is set, retried until `q.deadline`. */
    async query(req, q = {}) {
        const blocking = blockingParams(q, this.requestTimeoutMs);
        const params = { ...req.params, ...blocking.params };
        this.firstSentAt ??= performance.now();
        const attempt = async () => {
            const { body, headers } = await this.transport.exchange({
                method: 'GET',
                path: req.path,
                params,
                timeoutMs: blocking.timeoutMs,
                signal: q.signal,
                reader: req.reader?.(),
            });
            return { body, meta: queryMeta(headers) };
        };
        return retrying(attempt, {
            policy: this.retry,
            deadline: q.deadline,
            signal: q.signal,
            onRetry: this.onRetry,
            // After a first answer, failing to reach Nomad is an outage to wait out.
            retryable: (err) => err.retryable || (this.contacted && notReached(err)),
            giveUp: (err, tries, delayMs, attemptMs) => {
                if (this.contacted || !notReached(err))
                    return undefined;
                const spent = performance.now() - this.firstSentAt;
                // Only a try that can end within the budget (one that took 5 s will again).
                if (spent + delayMs + attemptMs < FIRST_CONTACT_MS)
                    return undefined;
                return neverReached(err, this.address, tries, spent);
            },
            method: 'GET',
            path: req.path,
        });
    }
    async write({ path, body }, w = {}) {
        const res = await this.transport.exchange({
            method: 'PUT',
            path,
            data: JSON.stringify(body),
            timeoutMs: this.requestTimeoutMs,
            signal: w.signal,
        });
        const lastIndex = headerNumber(res.headers, 'x-nomad-index') || res.body.Index;
        return { body: res.body, meta: { lastIndex } };
    }
}

;// CONCATENATED MODULE: ./src/gate/access.ts
// Before the wait: whether the token can send the step's write, where Nomad
// lets it be known (GET /v1/acl/token/self, then each of its policies), so a
// token that cannot write is found out at the start and not after the whole
// wait. Only ever a warning: anything unknown (no token, ACLs off, a token
// that cannot read itself or its policies, roles, an older Nomad without
// RulesJSON) ends the check without a word, and the write is sent as ever.

/** The whole check (token, then its policies in parallel) gets this long. */
const ACCESS_CHECK_MS = 5_000;
/** Warns once when the token evidently cannot send one of `writes`; never throws. */
async function checkWriteAccess(c) {
    // Without a token the first read tells (anonymous access rarely reads jobs),
    // and a cluster without ACLs is not asked one more question.
    if (c.writes.length === 0 || !c.client.hasToken)
        return;
    try {
        const line = await judge(c);
        if (line)
            c.warning(line);
    }
    catch (err) {
        c.debug(`Access check skipped: ${err instanceof Error ? err.message : String(err)}`);
    }
}
async function judge(c) {
    const signal = AbortSignal.any([c.signal, AbortSignal.timeout(ACCESS_CHECK_MS)]);
    // One try each: a retry of a guess would only add noise.
    const q = { signal, deadline: performance.now() };
    const token = (await c.client.tokenSelf(q)).body;
    // structs.ACLsDisabledToken: every call is allowed.
    if (token.AccessorID === 'acls-disabled' || token.Type === 'management')
        return undefined;
    const names = token.Policies ?? [];
    const rules = [];
    for (const policy of await Promise.all(names.map((n) => c.client.policy(n, q)))) {
        const namespaces = policy.body.RulesJSON?.Namespaces;
        // Before RulesJSON (older Nomad) the rules are HCL only: not guessed at.
        if (policy.body.RulesJSON == null) {
            c.debug(`Access check skipped: policy "${policy.body.Name}" comes without RulesJSON`);
            return undefined;
        }
        rules.push(...(namespaces ?? []));
    }
    const granted = grantedIn(c.namespace, rules);
    const missing = [...new Set(c.writes.map((w) => WRITE_NEEDS[w]))].filter((need) => !need.anyOf.some((cap) => granted.has(cap)));
    if (missing.length === 0)
        return undefined;
    // A role's policies are not in token/self: they may grant what is missing.
    if ((token.Roles ?? []).length > 0) {
        c.debug('Access check skipped: the token has roles, whose policies are not read');
        return undefined;
    }
    const who = token.Name ? `The token "${token.Name}"` : 'The token';
    const held = names.length
        ? `its policies (${names.join(', ')}) grant none of these there`
        : 'it holds no policy';
    const cannot = missing.map((n) => `${n.what} (needs ${describeNeed(n)})`).join(', nor ');
    return `${who} evidently cannot ${cannot} in namespace "${c.namespace}": ${held}, so Nomad will refuse the write with 403; waiting anyway`;
}

;// CONCATENATED MODULE: ./src/gate/errors.ts
/** A failure of the gate's own (bad target, unknown group, refused version): reported, not retried. */
class GateError extends Error {
    result;
    name = 'GateError';
    constructor(message, result = 'error') {
        super(message);
        this.result = result;
    }
}

;// CONCATENATED MODULE: ./src/gate/act.ts
// fail / pause / resume: one write at once, no waiting for the canaries.



const DONE = { fail: 'failed', pause: 'paused', resume: 'running' };
const RESULT = { fail: 'failed', pause: 'paused', resume: 'resumed' };
async function actNow(mode, view, writer, follower) {
    // A refusal means the deployment changed meanwhile: read it, and judge again.
    for (let tries = 1;; tries++) {
        const d = view.deployment;
        if (d.Status === DONE[mode]) {
            const message = `Deployment ${shortId(d.ID)} is already ${d.Status}; nothing sent`;
            return { result: RESULT[mode], ok: true, message };
        }
        if (TERMINAL_DEPLOYMENT_STATUSES.includes(d.Status)) {
            throw new GateError(`Cannot ${mode} deployment ${shortId(d.ID)}: it is ${d.Status} ("${d.StatusDescription}")`);
        }
        if ((await writer.send(mode)) === 'sent') {
            return {
                result: RESULT[mode],
                ok: true,
                message: `Deployment ${shortId(d.ID)} ${RESULT[mode]}`,
            };
        }
        if (tries === 3) {
            throw new GateError(`Nomad refused to ${mode} deployment ${shortId(d.ID)} ${tries} times`);
        }
        await follower.refresh();
    }
}

;// CONCATENATED MODULE: ./src/gate/readiness.ts
// The product in pure functions: what the deployment's canaries say, read the
// way Nomad's server reads them.
//
// The promotion rule is nomad/state/state_store.go UpdateDeploymentPromotion:
// for every group being promoted with DesiredCanaries > 0, *already promoted
// groups included*, the allocations listed in the deployment's PlacedCanaries
// that are not terminal (Allocation.TerminalStatus) and report
// DeploymentStatus.IsHealthy() must number at least DesiredCanaries. Unhealthy
// canaries do not count against it: enough healthy ones pass (a failed canary
// that Nomad replaced leaves its replacement in PlacedCanaries too). The
// HealthyAllocs counter is never read: it is not lowered when a healthy canary
// dies. The alloc's DeploymentStatus.Canary flag is not read either: Nomad
// clears it on promotion, while the canary stays in PlacedCanaries.

/** The groups the gate acts on: the given ones, else every group that has canaries. */
function selectGroups(d, groups) {
    if (groups.length > 0)
        return [...groups];
    return Object.keys(d.TaskGroups)
        .filter((name) => d.TaskGroups[name].DesiredCanaries > 0)
        .sort();
}
/** Given groups that the deployment does not have (Nomad would ignore them silently). */
function unknownGroups(d, groups) {
    return groups.filter((g) => !(g in d.TaskGroups));
}
/**
 * One group, from the deployment's state of it and the allocations: the work
 * per canary. The view keeps these per group and computes again only the
 * groups a change touches; evaluate() computes them all.
 */
function evaluateGroup(name, state, allocs) {
    const placed = state?.PlacedCanaries ?? [];
    const g = {
        name,
        desiredCanaries: state?.DesiredCanaries ?? 0,
        placedCanaries: placed.length,
        healthyCanaries: 0,
        unhealthyCanaries: 0,
        promoted: state?.Promoted ?? false,
        pending: 0,
        awaitingHealth: 0,
        stopped: 0,
        unhealthyAllocs: [],
        behind: false,
        reportedHealthy: 0,
    };
    for (const id of placed) {
        const a = allocs.get(id);
        if (!a)
            continue;
        const health = a.DeploymentStatus?.Healthy ?? null;
        if (health === true)
            g.reportedHealthy++;
        // UpdateDeploymentPromotion clears Canary on the canaries it promotes.
        if (a.DeploymentStatus?.Canary === false && !g.promoted)
            g.behind = true;
        if (health === false) {
            g.unhealthyCanaries++;
            g.unhealthyAllocs.push(id);
        }
        else if (allocIsTerminal(a)) {
            g.stopped++;
        }
        else if (health === true) {
            g.healthyCanaries++;
        }
        else if (a.ClientStatus === 'pending') {
            g.pending++;
        }
        else {
            g.awaitingHealth++;
        }
    }
    return g;
}
/** The deployment's readiness from its groups' states (every group of the deployment). */
function combine(d, group, selected) {
    const states = selected.map(group);
    const withCanaries = states.filter((g) => g.desiredCanaries > 0);
    return {
        groups: states.map(({ unhealthyAllocs: _u, behind: _b, reportedHealthy: _r, ...row }) => row),
        terminal: TERMINAL_DEPLOYMENT_STATUSES.includes(d.Status),
        promotable: withCanaries.every((g) => g.healthyCanaries >= g.desiredCanaries),
        promoted: withCanaries.length > 0 && withCanaries.every((g) => g.promoted),
        unhealthyAllocs: states.flatMap((g) => g.unhealthyAllocs),
        autoPromotes: watcherPromotes(d, group),
        behind: states.some((g) => g.behind),
    };
}
function evaluate(d, allocs, selected) {
    const byId = toMap(allocs);
    return combine(d, (name) => evaluateGroup(name, d.TaskGroups[name], byId), selected);
}
/**
 * nomad/deploymentwatcher/deployment_watcher.go autoPromoteDeployment: a
 * running deployment that still requires promotion, with canaries placed, in
 * which every group with canaries has auto_promote and exactly DesiredCanaries
 * of its PlacedCanaries healthy (terminal or not: the watcher does not look).
 */
function autoPromotes(d, allocs) {
    const byId = toMap(allocs);
    return watcherPromotes(d, (name) => evaluateGroup(name, d.TaskGroups[name], byId));
}
function watcherPromotes(d, group) {
    const groups = Object.entries(d.TaskGroups);
    if (d.Status !== 'running')
        return false;
    if (!groups.some(([, g]) => (g.PlacedCanaries ?? []).length > 0))
        return false;
    if (!groups.some(([, g]) => g.DesiredCanaries > 0 && !g.Promoted))
        return false;
    return groups.every(([name, g]) => {
        if (g.DesiredCanaries < 1)
            return true;
        const placed = g.PlacedCanaries ?? [];
        if (!g.AutoPromote || placed.length < g.DesiredCanaries)
            return false;
        return group(name).reportedHealthy === g.DesiredCanaries;
    });
}
/** The selected canaries that are placed, live and running, or undefined until every group has its DesiredCanaries so. */
function runningCanaries(d, allocs, selected) {
    const byId = toMap(allocs);
    const out = [];
    for (const name of selected) {
        const state = d.TaskGroups[name];
        const live = (state?.PlacedCanaries ?? [])
            .map((id) => byId.get(id))
            .filter((a) => !!a && !allocIsTerminal(a));
        if (live.length < (state?.DesiredCanaries ?? 0) ||
            live.some((a) => a.ClientStatus !== 'running'))
            return undefined;
        out.push(...live);
    }
    return out;
}
/** `web 1/2 healthy, api 1/1 healthy (1 unhealthy)`: the counts every message carries. */
function describeGroups(groups) {
    if (groups.length === 0)
        return 'no groups with canaries';
    return groups
        .map((g) => {
        let s = `${g.name} ${g.healthyCanaries}/${g.desiredCanaries} healthy`;
        if (g.unhealthyCanaries > 0)
            s += ` (${g.unhealthyCanaries} unhealthy)`;
        if (g.stopped > 0)
            s += ` (${g.stopped} stopped)`;
        if (g.promoted)
            s += ' (promoted)';
        return s;
    })
        .join(', ');
}
/**
 * The state of each group in plain words, for the progress lines:
 * `web: 1/2 healthy, 1 running with no health yet; api: waiting for placement`.
 */
function describeProgress(groups) {
    // Many groups: the ones still waiting, a few by name, so a line stays a line.
    if (groups.length > PROGRESS_GROUPS) {
        // A group with no canaries has none to wait for (0 < 0 is false).
        const waiting = groups.filter((g) => g.healthyCanaries < g.desiredCanaries);
        const shown = describeEach(waiting.slice(0, PROGRESS_GROUPS - 1));
        const more = waiting.length - (PROGRESS_GROUPS - 1);
        const passing = `${groups.length - waiting.length}/${groups.length} groups pass`;
        if (waiting.length === 0)
            return passing;
        return `${passing}; ${shown}${more > 0 ? `; and ${more} more group(s) waiting` : ''}`;
    }
    return describeEach(groups);
}
/** Groups named one by one in a progress line, at most. */
const PROGRESS_GROUPS = 5;
function describeEach(groups) {
    return groups
        .map((g) => {
        if (g.desiredCanaries === 0)
            return `${g.name}: no canaries`;
        if (g.placedCanaries === 0)
            return `${g.name}: waiting for placement`;
        const parts = [`${g.healthyCanaries}/${g.desiredCanaries} healthy`];
        if (g.unhealthyCanaries)
            parts.push(`${g.unhealthyCanaries} unhealthy`);
        if (g.awaitingHealth)
            parts.push(`${g.awaitingHealth} running with no health yet`);
        if (g.pending)
            parts.push(`${g.pending} placed, not started yet`);
        if (g.stopped)
            parts.push(`${g.stopped} stopped`);
        // Healthy canaries are live, so a group with all its healthy ones misses none.
        const live = g.placedCanaries - g.unhealthyCanaries - g.stopped;
        const missing = g.desiredCanaries - live;
        if (missing > 0)
            parts.push(`${missing} to be placed`);
        if (g.promoted)
            parts.push('promoted');
        return `${g.name}: ${parts.join(', ')}`;
    })
        .join('; ');
}
function toMap(allocs) {
    if (!Array.isArray(allocs))
        return allocs;
    const m = new Map();
    for (const a of allocs)
        m.set(a.ID, a);
    return m;
}

;// CONCATENATED MODULE: ./src/gate/decide.ts
// Per-mode decisions as pure functions of what the gate knows: the readiness
// of the selected groups, the phase the step is in, and the user's policy.
// The orchestrator (gate.ts) asks after every change and does what it is told;
// table tests (decide.test.ts) pin every row.


function decide(s, p) {
    const r = s.readiness;
    const groups = describeGroups(r.groups);
    if (s.phase === 'completing')
        return decideCompletion(s);
    if (r.terminal)
        return { kind: 'end', verdict: terminalVerdict(s) };
    // The deployment as read is older than its allocations: decide on the next answer.
    if (r.behind)
        return { kind: 'wait', why: 'the deployment was promoted after it was read' };
    if (p.mode === 'health') {
        return s.canariesRunning
            ? { kind: 'set-health' }
            : { kind: 'wait', why: describeProgress(r.groups) };
    }
    if (r.promoted) {
        const during = s.phase === 'soaking' ? ' (by someone else during the soak)' : '';
        return end('already-promoted', true, `Already promoted${during}: ${groups}`);
    }
    const onFail = onFailureWrite(p.onFailure);
    const failFast = p.onUnhealthyCanary === 'fail-fast';
    if (!r.promotable) {
        const unhealthy = r.unhealthyAllocs.map(shortId).join(', ');
        if (s.phase === 'soaking') {
            const which = unhealthy ? ` (${unhealthy} unhealthy)` : '';
            if (failFast) {
                return end('unhealthy', false, `Canaries stopped passing during the soak${which}: ${groups}`, onFail);
            }
            return {
                kind: 'wait',
                why: `Soak interrupted${which}: ${describeProgress(r.groups)}`,
                phase: 'gating',
            };
        }
        if (r.unhealthyAllocs.length > 0) {
            if (failFast)
                return end('unhealthy', false, `Canary ${unhealthy} reported unhealthy: ${groups}`, onFail);
            return {
                kind: 'wait',
                why: `Canary ${unhealthy} reported unhealthy; waiting for Nomad to replace it: ${describeProgress(r.groups)}`,
            };
        }
        return { kind: 'wait', why: describeProgress(r.groups) };
    }
    // Promotable by the server's rule.
    if (p.soak && s.phase === 'gating')
        return { kind: 'soak' };
    if (s.phase === 'soaking')
        return { kind: 'wait', why: 'soaking' };
    if (p.mode === 'wait')
        return end('promotable', true, `Promotable: ${groups}`);
    if (r.autoPromotes) {
        return {
            kind: 'wait',
            why: `Canaries pass; Nomad promotes this deployment itself (auto_promote): ${groups}`,
        };
    }
    if (s.promoteHeld)
        return { kind: 'wait', why: 'Nomad refused the promote; waiting for the canaries to change' };
    return end('promoted', true, `Promoted: ${groups}`, 'promote');
}
/** The deadline passed before a decision. */
function timeoutVerdict(s, p, timeout) {
    const groups = describeGroups(s.readiness.groups);
    if (s.phase === 'completing' && s.promotedAs) {
        return {
            result: 'timed-out',
            ok: false,
            message: `${s.promotedAs.result}, but the deployment did not complete in time: Timed out after ${timeout}: ${groups}`,
        };
    }
    const write = onFailureWrite(p.onFailure);
    return {
        result: 'timed-out',
        ok: false,
        message: `Timed out after ${timeout}: ${groups}`,
        ...(write ? { write } : {}),
    };
}
function decideCompletion(s) {
    const d = s.deployment;
    if (d.Status === 'successful') {
        return {
            kind: 'end',
            verdict: {
                result: s.promotedAs?.result ?? 'promoted',
                ok: true,
                message: `${s.promotedAs?.message ?? 'Promoted'}; deployment successful`,
            },
        };
    }
    if (s.readiness.terminal)
        return { kind: 'end', verdict: terminalVerdict(s) };
    return { kind: 'wait', why: `Waiting for the deployment to complete (${d.Status})` };
}
function terminalVerdict(s) {
    const d = s.deployment;
    const groups = describeGroups(s.readiness.groups);
    if (d.Status === 'successful') {
        return {
            result: 'already-promoted',
            ok: true,
            message: `Deployment already successful: ${groups}`,
        };
    }
    const superseded = /newer/i.test(d.StatusDescription)
        ? ' (superseded by a newer deployment of the job)'
        : '';
    return {
        result: 'deployment-failed',
        ok: false,
        message: `Deployment ${shortId(d.ID)} is ${d.Status}${superseded}: "${d.StatusDescription}"; ${groups}`,
    };
}
function onFailureWrite(onFailure) {
    return onFailure === 'none' ? undefined : onFailure;
}
function end(result, ok, message, write) {
    return { kind: 'end', verdict: write ? { result, ok, message, write } : { result, ok, message } };
}

;// CONCATENATED MODULE: ./src/nomad/watch.ts
// The blocking-query loop (after Nomad's CLI monitor and consul-template's
// watcher): send the last index, reset to 0 when the server's index goes
// backwards, never spin, stop on the deadline or a signal.



/**
 * Calls `onChange` with the first answer (unless `options.index` says the caller
 * has it) and then with every answer whose index moved. Resolves when the deadline passes or the signal fires; rejects when a
 * read fails for good (the client already retried what can be retried).
 */
async function watch(fetch, onChange, options) {
    const { deadline, signal } = options;
    const maxWaitMs = Math.min(options.maxWaitMs ?? MAX_WAIT_MS, MAX_WAIT_MS);
    let index = options.index ?? 0;
    let first = index === 0;
    let idle = 0;
    let backwards = 0;
    while (!signal.aborted) {
        const remaining = deadline - performance.now();
        if (remaining <= 0)
            return;
        const sentAt = performance.now();
        // The deadline ends a held query too: the server holds one for up to
        // wait + wait/16 (nomad/rpc.go jitter), so ask for less than what is left,
        // and stop waiting for an answer that has not come when the deadline passes.
        // (A timer, not AbortSignal.timeout: AbortSignal.any holds its sources
        // weakly, and a collected timeout signal never fires.)
        const bounded = new AbortController();
        const stop = () => bounded.abort();
        const timer = setTimeout(stop, Math.ceil(remaining));
        signal.addEventListener('abort', stop, { once: true });
        const waitMs = Math.min(maxWaitMs, Math.floor((remaining * 16) / 17));
        let res;
        try {
            res = await fetch({ index, waitMs, signal: bounded.signal, deadline });
        }
        catch (err) {
            if (signal.aborted)
                return;
            if (bounded.signal.aborted) {
                // The deadline passed while the client was retrying a failed read:
                // that failure is the answer, not a quiet timeout.
                const cause = err.cause;
                if (cause instanceof NomadError)
                    throw cause;
                return;
            }
            throw err;
        }
        finally {
            clearTimeout(timer);
            signal.removeEventListener('abort', stop);
        }
        if (signal.aborted)
            return;
        const next = res.meta.lastIndex;
        if (next < index) {
            // A restored snapshot or a new leader with an older state: start over
            // (Nomad's api docs on blocking queries); index 0 answers at once. An
            // index that keeps going backwards (a proxy or cache serving old
            // answers) must not make the loop spin: back off from the second time.
            index = 0;
            first = true;
            if (++backwards > 1) {
                const pause = Math.min(1_000, 25 * 2 ** backwards, deadline - performance.now());
                await sleep(pause, signal).catch(() => undefined);
            }
            continue;
        }
        if (index > 0)
            backwards = 0;
        const moved = first || next > index;
        if (moved) {
            idle = 0;
            first = false;
            onChange(res.body, res.meta);
        }
        else if (performance.now() - sentAt < 50) {
            // The server (or a proxy) answered at once without a change: back off
            // rather than spin.
            idle++;
            await sleep(Math.min(1_000, 25 * 2 ** idle), signal).catch(() => undefined);
        }
        // Never send an index below 1 after a valid read: 0 would not block.
        index = Math.max(1, next);
    }
}

;// CONCATENATED MODULE: ./src/gate/follow-events.ts
// Following a deployment on Nomad's event stream (the `watch` input's events
// and auto): subscribe to the deployment's and its allocations' topics, then
// read both (the stream has no signal for a gap: nomad/stream/event_buffer.go),
// then apply each event whose object is newer than what the view holds. A
// change costs one event of its own size, whatever the size of the deployment.
// Refused, silent or dropped, the stream ends with StreamGone: auto falls back
// to blocking queries (follow.ts), events fails the step.


/** How long auto and events wait for the stream's first heartbeat (Nomad sends it at once). */
const STREAM_WAIT_MS = 1_500;
const STREAM_SILENCE_MS = 45_000;
/** Why the stream could not be followed (auto: fall back; events: fail). */
class StreamGone extends Error {
}
class EventFeed {
    host;
    /** The raft index the state was read at after subscribing: events up to it are in the reads. */
    readAt = 0;
    constructor(host) {
        this.host = host;
    }
    /**
     * Subscribes, reads the state, then applies the stream until the deadline or
     * stop(); throws StreamGone when the stream is refused, stays silent or
     * drops. `events` reconnects after a drop (and reads the state again);
     * `auto` lets the caller fall back instead.
     */
    async run() {
        const waitMs = this.host.options.streamWaitMs ?? STREAM_WAIT_MS;
        const silenceMs = this.host.options.streamSilenceMs ?? STREAM_SILENCE_MS;
        for (let attempt = 1; !this.host.stopped(); attempt++) {
            const sub = new AbortController();
            const signal = AbortSignal.any([sub.signal, this.host.signal()]);
            let heard = () => { };
            const first = new Promise((resolve) => (heard = resolve));
            let lastLine = performance.now();
            let ready = false;
            const early = new Newest(this.host.id);
            const topics = [
                `Deployment:${this.host.id}`,
                ...(this.host.withAllocs ? [`Allocation:${this.host.id}`] : []),
            ];
            const stream = this.host.client.eventStream({ topics, index: this.host.view.lastIndex + 1, signal }, {
                heartbeat: () => {
                    lastLine = performance.now();
                    heard();
                },
                batch: (b) => {
                    lastLine = performance.now();
                    heard();
                    if (ready)
                        this.apply(b);
                    else
                        early.add(b);
                },
            });
            const ended = stream.then(() => 'closed', (err) => err);
            try {
                const opened = await this.race([first.then(() => 'heard'), ended], waitMs);
                if (opened !== 'heard') {
                    if (this.host.stopped() || signal.aborted)
                        return;
                    throw new StreamGone(gone(opened, 'no heartbeat within ' + `${waitMs} ms of subscribing`));
                }
                // Subscribed: what happened before is read, what happens after comes in order.
                await this.host.refresh();
                const readAt = Math.max(this.host.view.deploymentIndex, this.host.view.allocsIndex);
                ready = true;
                this.readAt = readAt;
                if (early.index > 0)
                    this.applyNewest(early);
                for (;;) {
                    const left = lastLine + silenceMs - performance.now();
                    const why = await this.race([ended], Math.max(0, left));
                    if (this.host.stopped() || signal.aborted)
                        return;
                    if (why === 'timeout') {
                        if (performance.now() - lastLine < silenceMs)
                            continue;
                        throw new StreamGone(`nothing for ${Math.round(silenceMs / 1000)} s, not even a heartbeat`);
                    }
                    throw new StreamGone(gone(why, 'the stream closed'));
                }
            }
            catch (err) {
                if (!(err instanceof StreamGone) || this.host.options.watch !== 'events' || attempt >= 3)
                    throw err;
                this.host.options.note?.(`The event stream dropped (${err.message}); subscribing again`);
            }
            finally {
                sub.abort();
                await ended;
            }
        }
    }
    /** One raft index's events. */
    apply(b) {
        const newest = new Newest(this.host.id);
        newest.add(b);
        this.applyNewest(newest);
    }
    /** Each object newer than the view's copy replaces it; then the view is as recent as the events. */
    applyNewest(n) {
        if (n.deployment)
            this.applyDeployment(n.deployment);
        for (const a of n.allocs.values())
            this.applyAlloc(a);
        this.advance(n.index);
    }
    applyDeployment(d) {
        if (d.ModifyIndex >= this.host.view.deployment.ModifyIndex)
            this.host.view.setDeployment(d, this.host.view.deploymentIndex);
    }
    applyAlloc(a) {
        const held = this.host.view.allocs.get(a.ID);
        if (!held || a.ModifyIndex >= held.ModifyIndex)
            this.host.view.upsertAlloc(a);
    }
    /** The events of `index` are in the view: past the reads, it holds every change up to it. */
    advance(index) {
        if (index > this.readAt)
            this.host.view.current(index);
        else
            this.host.view.version++;
        this.host.afterChange();
    }
    /** Resolves with 'timeout' after `ms` (or at the deadline, or on a stop), or with the first of `ps` to settle. */
    async race(ps, ms) {
        let timer;
        let end = () => { };
        const signal = this.host.signal();
        const stop = new Promise((resolve) => {
            end = () => resolve('timeout');
            const left = Math.max(0, this.host.options.deadline - performance.now());
            timer = setTimeout(end, Math.min(ms, left));
            signal.addEventListener('abort', end, { once: true });
        });
        try {
            return await Promise.race([...ps, stop]);
        }
        finally {
            clearTimeout(timer);
            signal.removeEventListener('abort', end);
        }
    }
}
/**
 * The newest of each object in some batches of events (the stream is in raft
 * order), and their last index: one batch as it comes, or all that arrive while
 * the state is read after subscribing, so that a busy deployment cannot pile up
 * a copy of itself per change before the read ends. Allocations come only when
 * subscribed to (not for fail, pause, resume).
 */
class Newest {
    id;
    index = 0;
    deployment;
    allocs = new Map();
    constructor(id) {
        this.id = id;
    }
    add(b) {
        for (const e of b.Events) {
            const d = e.Payload.Deployment;
            if (e.Topic === 'Deployment' && d?.ID === this.id)
                this.deployment = d;
            const a = e.Payload.Allocation;
            if (e.Topic === 'Allocation' && a)
                this.allocs.set(a.ID, allocView(a));
        }
        this.index = Math.max(this.index, b.Index);
    }
}
/** A stream's end as a reason: a NomadError's detail, or `otherwise` when it closed or stayed silent. */
function gone(why, otherwise) {
    if (why instanceof NomadError)
        return why.status ? `HTTP ${why.status}: ${why.detail}` : why.detail;
    if (why instanceof Error)
        return why.message;
    return why === 'closed' ? 'it closed at once' : otherwise;
}

;// CONCATENATED MODULE: ./src/gate/follow.ts
// Following a deployment: keep the view current until the step ends, with
// Nomad's event stream (follow-events.ts) or with blocking queries (the `watch`
// input). `auto` falls back to blocking queries when the stream is refused,
// stays silent or drops; `events` fails the step instead.
//
// Blocking queries: the deployment and its allocations are watched at once:
// either can change alone (a canary that dies after being healthy leaves the
// deployment's ModifyIndex as it was); each change re-reads the whole list.




function follow(client, view, options) {
    return new Following(client, view, options);
}
class Following {
    client;
    view;
    options;
    method;
    ended = false;
    done;
    failure;
    id;
    withAllocs;
    stopAll = new AbortController();
    /** Ends the current feed alone (the deployment's or the allocations' watch, or the stream). */
    stopDeployment = new AbortController();
    stopAllocs = new AbortController();
    /** After a last write: the index at which following has seen enough. */
    lastWrite;
    wake = () => { };
    pulse = new Promise((resolve) => (this.wake = resolve));
    constructor(client, view, options) {
        this.client = client;
        this.view = view;
        this.options = options;
        this.id = view.deployment.ID;
        this.withAllocs = options.allocs ?? true;
        if (!this.withAllocs)
            this.stopAllocs.abort();
        this.method = (options.watch ?? 'blocking') === 'blocking' ? 'blocking' : 'events';
        this.done = this.run();
        this.done.catch(() => undefined); // read through changed() or done
    }
    // ---- following ---------------------------------------------------------------------
    async run() {
        try {
            if (this.method === 'events') {
                try {
                    await new EventFeed({
                        client: this.client,
                        view: this.view,
                        id: this.id,
                        withAllocs: this.withAllocs,
                        options: this.options,
                        stopped: () => this.stopped,
                        signal: () => this.signalFor(this.stopDeployment),
                        refresh: () => this.refresh(),
                        afterChange: () => this.afterChange(),
                    }).run();
                }
                catch (err) {
                    if (!(err instanceof StreamGone))
                        throw err;
                    if (this.options.watch === 'events') {
                        throw new NomadError({
                            kind: 'protocol',
                            method: 'GET',
                            path: '/v1/event/stream',
                            detail: `the event stream cannot be followed (${err.message}); watch: events needs it: set watch to auto or blocking, or enable Nomad's event broker (enable_event_broker) and grant read-job`,
                            retryable: false,
                            ambiguous: false,
                        });
                    }
                    this.method = 'blocking';
                    this.options.note?.(`The event stream cannot be followed (${err.message}): following with blocking queries`);
                    this.notify();
                }
            }
            if (this.method === 'blocking' && !this.stopped)
                await this.followBlocking();
        }
        catch (err) {
            this.failure ??= err;
        }
        finally {
            this.ended = true;
            this.notify();
        }
        if (this.failure !== undefined)
            throw this.failure;
    }
    get stopped() {
        return (this.stopAll.signal.aborted ||
            this.options.signal.aborted ||
            performance.now() >= this.options.deadline);
    }
    /** Feeds one side until the deadline, the step's signal, stop() or its own stop. */
    signalFor(own) {
        return AbortSignal.any([own.signal, this.stopAll.signal, this.options.signal]);
    }
    followBlocking() {
        const { client, view, id } = this;
        const run = (p) => p.catch((err) => {
            this.failure ??= err;
            this.stopAll.abort();
        });
        return Promise.all([
            run(watch((q) => client.deployment(id, q), (body, meta) => {
                view.setDeployment(body, meta.lastIndex);
                this.afterChange();
            }, {
                deadline: this.options.deadline,
                signal: this.signalFor(this.stopDeployment),
                index: view.deploymentIndex,
            })),
            run(watch((q) => client.deploymentAllocations(id, q), (body, meta) => {
                view.setAllocs(body, meta.lastIndex);
                this.afterChange();
            }, { deadline: this.options.deadline, signal: this.signalFor(this.stopAllocs) })),
        ]).then(() => undefined);
    }
    // ---- the view's changes and their waiters ----------------------------------------
    notify() {
        const w = this.wake;
        this.pulse = new Promise((resolve) => (this.wake = resolve));
        w();
    }
    /** After each change: a last write that is now visible stops following. */
    afterChange() {
        const w = this.lastWrite;
        if (w && this.deploymentSettled(w.index))
            this.stopDeployment.abort();
        if (w && this.allocsSettled(w.index, w.allocs))
            this.stopAllocs.abort();
        this.notify();
    }
    deploymentSettled(index) {
        return this.view.deployment.ModifyIndex >= index;
    }
    allocsSettled(index, allocs) {
        return !allocs || this.view.allocsIndex >= index;
    }
    async changed(version, until) {
        let timer;
        const timeUp = until === undefined
            ? undefined
            : new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, until - performance.now()))));
        try {
            while (this.view.version === version && !this.ended && this.failure === undefined) {
                if (until !== undefined && performance.now() >= until)
                    break;
                await (timeUp ? Promise.race([this.pulse, timeUp]) : this.pulse);
            }
        }
        finally {
            clearTimeout(timer);
        }
        if (this.failure !== undefined)
            throw this.failure;
    }
    async settle(index, { allocs, last, until }) {
        const settled = () => this.deploymentSettled(index) && this.allocsSettled(index, allocs);
        if (last) {
            this.lastWrite = { index, allocs };
            this.afterChange();
        }
        while (!settled() && !this.ended && performance.now() < until) {
            await this.changed(this.view.version, until).catch(() => undefined);
        }
        if (!settled())
            return false;
        // A write that leaves the allocations as they were gives their watch no answer, and the
        // two answers after one that changes both can straddle a later change: one snapshot.
        await this.confirm();
        return true;
    }
    async refresh({ signal = this.options.signal, deadline = this.options.deadline } = {}) {
        const q = { deadline, signal };
        const [d, a] = await Promise.all([
            this.client.deployment(this.id, q),
            this.withAllocs ? this.client.deploymentAllocations(this.id, q) : undefined,
        ]);
        if (d.body.ModifyIndex >= this.view.deployment.ModifyIndex)
            this.view.setDeployment(d.body, d.meta.lastIndex);
        if (a && a.meta.lastIndex >= this.view.allocsIndex)
            this.view.setAllocs(a.body, a.meta.lastIndex);
        this.notify();
    }
    async confirm() {
        const { view } = this;
        if (view.consistent)
            return;
        const q = { deadline: this.options.deadline, signal: this.options.signal };
        if (view.allocsIndex > view.deploymentIndex) {
            const d = await this.client.deployment(this.id, q);
            if (d.body.ModifyIndex >= view.deployment.ModifyIndex)
                view.setDeployment(d.body, d.meta.lastIndex);
        }
        else {
            await this.readAllocs();
        }
        view.confirmed = view.version;
        this.notify();
    }
    async readAllocs() {
        const q = { deadline: this.options.deadline, signal: this.options.signal };
        const a = await this.client.deploymentAllocations(this.id, q);
        if (a.meta.lastIndex >= this.view.allocsIndex)
            this.view.setAllocs(a.body, a.meta.lastIndex);
    }
    stop() {
        this.stopAll.abort();
    }
}

;// CONCATENATED MODULE: ./src/gate/health.ts
// health mode: which allocations to mark, from healthy-allocs and
// unhealthy-allocs (the word `canaries`, or IDs and unique prefixes of the
// selected groups' placed canaries).


function healthTargets(selectors, canaries, where) {
    const pick = (input, selector) => {
        if (!selector)
            return [];
        if ('canaries' in selector)
            return canaries.map((a) => a.ID);
        return selector.ids.map((prefix) => {
            const matches = canaries.filter((a) => a.ID.startsWith(prefix));
            if (matches.length === 1)
                return matches[0].ID;
            if (matches.length === 0) {
                throw new GateError(`Input '${input}': "${prefix}" is not a placed canary of deployment ${shortId(where.deploymentId)} in ${where.groups.join(', ')}; its canaries are ${canaries.map((a) => shortId(a.ID)).join(', ')}`);
            }
            throw new GateError(`Input '${input}': "${prefix}" matches several canaries (${matches.map((a) => a.ID).join(', ')}); give more characters`);
        });
    };
    const healthy = pick('healthy-allocs', selectors.healthyAllocs);
    const unhealthy = pick('unhealthy-allocs', selectors.unhealthyAllocs);
    const parts = [
        healthy.length ? `${healthy.length} healthy (${healthy.map(shortId).join(', ')})` : '',
        unhealthy.length ? `${unhealthy.length} unhealthy (${unhealthy.map(shortId).join(', ')})` : '',
    ].filter(Boolean);
    return {
        healthy,
        unhealthy,
        verdict: { result: 'health-set', ok: true, message: `Marked ${parts.join(' and ')}` },
    };
}

;// CONCATENATED MODULE: ./src/gate/progress.ts
// The progress lines a person reads while the gate waits: one line per canary
// as it is placed, starts, reports health or stops (not one per poll).
// Canaries are the deployment's PlacedCanaries of the selected groups, never
// the allocations' Canary flag (Nomad clears it on promotion).


class CanaryLog {
    seen = new Map();
    /** The lines for what changed since the last call. */
    changes(view, groups) {
        if (!view.allocsRead)
            return [];
        const lines = [];
        for (const g of groups) {
            for (const id of view.deployment.TaskGroups[g.name]?.PlacedCanaries ?? []) {
                const a = view.allocs.get(id);
                if (!a)
                    continue;
                const now = stateOf(a);
                const before = this.seen.get(id);
                if (before === now)
                    continue;
                this.seen.set(id, now);
                // A canary first seen already running is placed news only if it has no health yet.
                if (before === undefined && now === 'running') {
                    lines.push(`${g.name}: canary ${shortId(id)} placed and running`);
                    continue;
                }
                lines.push(`${g.name}: canary ${shortId(id)} ${describe(now, a)} (${g.healthyCanaries}/${g.desiredCanaries} healthy)`);
            }
        }
        return lines;
    }
}
function stateOf(a) {
    const health = a.DeploymentStatus?.Healthy ?? null;
    if (health === false)
        return 'unhealthy';
    if (allocIsTerminal(a))
        return 'stopped';
    if (health === true)
        return 'healthy';
    return a.ClientStatus === 'pending' ? 'pending' : 'running';
}
function describe(state, a) {
    switch (state) {
        case 'pending':
            return 'placed, not started yet';
        case 'running':
            return 'is running, no health yet';
        case 'healthy':
            return 'is healthy';
        case 'unhealthy':
            return 'is unhealthy';
        case 'stopped':
            return `is no longer running (${a.DesiredStatus === 'run' ? a.ClientStatus : `${a.DesiredStatus}, ${a.ClientStatus}`})`;
    }
}

;// CONCATENATED MODULE: ./src/gate/resolve.ts
// Which deployment to gate: a full ID, a unique ID prefix, or a job's.
//
// For a job, the deployment of one version: job-version, else the job's
// current version as read now. Right after `nomad job run` that version has
// no deployment yet: Nomad creates it when the scheduler processes the
// registration's evaluation (scheduler/reconciler/reconcile_cluster.go
// createDeployment), and until then the job's latest deployment is the
// previous version's. So wait for that version's deployment within the
// deadline, and never take another version's. Say so as soon as it is certain
// that none will come: the evaluation of that version completed without
// creating one (no update block, count 0, nothing to update), or the job moved
// on to a newer version first. (An update block is not needed: the API gives
// service jobs a default one, api/jobs.go Canonicalize; only max_parallel = 0,
// an empty strategy, makes none: reconcile_cluster.go createDeployment.)



async function resolveDeployment(target, client, options) {
    if ('deploymentId' in target)
        return resolveId(target.deploymentId, client, options);
    return new JobResolver(target.job, target.jobVersion, client, options).resolve();
}
function inNamespace(client) {
    return client.namespace ? ` in namespace "${client.namespace}"` : '';
}
async function resolveId(id, client, options) {
    const where = inNamespace(client);
    const q = { signal: options.signal, deadline: options.deadline };
    if (id.length === 36) {
        try {
            const { body, meta } = await client.deployment(id, q);
            // Without ACLs Nomad serves a deployment by ID whatever ?namespace= says
            // (nomad/deployment_endpoint.go GetDeployment): never act on another
            // namespace's deployment than the one the user named.
            const wanted = client.namespace ?? 'default';
            if (body.Namespace !== wanted) {
                throw new GateError(`Deployment ${id} is in namespace "${body.Namespace}", not "${wanted}": set namespace to "${body.Namespace}" if that is the one to gate`);
            }
            return { deployment: body, meta };
        }
        catch (err) {
            if (err instanceof NomadError && err.status === 404) {
                throw new GateError(`Deployment ${id} not found${where}: check deployment-id and namespace`);
            }
            throw err;
        }
    }
    const { body, meta } = await client.listDeployments(evenPrefix(id), q);
    const matches = body.filter((d) => d.ID.startsWith(id));
    if (matches.length === 1)
        return { deployment: matches[0], meta };
    if (matches.length === 0) {
        throw new GateError(`No deployment ID starts with "${id}"${where}: check deployment-id and namespace`);
    }
    const list = matches
        .slice(0, 10)
        .map((d) => `${d.ID} (job "${d.JobID}" version ${d.JobVersion}, ${d.Status})`)
        .join('; ');
    throw new GateError(`Input 'deployment-id': "${id}" matches ${matches.length} deployments${where}: ${list}; give more characters`);
}
/**
 * Nomad's UUID index matches whole bytes and rejects a prefix with an odd number
 * of hex digits; its CLI drops the last one (command/helpers.go
 * sanitizeUUIDPrefix). Do the same, then filter by the full prefix.
 */
function evenPrefix(prefix) {
    const digits = prefix.replace(/-/g, '').length;
    return digits % 2 === 0 ? prefix : prefix.slice(0, -1);
}
const TERMINAL_EVAL = ['complete', 'failed', 'canceled'];
class JobResolver {
    jobId;
    jobVersion;
    client;
    options;
    where;
    stop = new AbortController();
    signal;
    job;
    /** The version to gate: job-version, else the job's version when the step started. */
    version;
    found;
    refused;
    /** The version had no deployment at the first look: waiting (and said so). */
    waiting = false;
    evaluations;
    constructor(jobId, jobVersion, client, options) {
        this.jobId = jobId;
        this.jobVersion = jobVersion;
        this.client = client;
        this.options = options;
        this.where = inNamespace(client);
        this.signal = AbortSignal.any([this.stop.signal, options.signal]);
    }
    async resolve() {
        try {
            const { body, meta } = await this.client.job(this.jobId, this.query());
            this.job = body;
            this.version = this.jobVersion ?? body.Version;
            if (body.Type === 'batch' || body.Type === 'sysbatch') {
                throw new GateError(`Job "${this.jobId}"${this.where} is a ${body.Type} job: Nomad makes no deployments for it`);
            }
            if (this.version > body.Version)
                await this.untilVersion(meta.lastIndex);
            if (!this.found && !this.refused)
                await this.untilDeployment();
        }
        catch (err) {
            if (err instanceof NomadError &&
                err.status === 404 &&
                err.path === `/v1/job/${encodeURIComponent(this.jobId)}`) {
                throw new GateError(`Job "${this.jobId}" not found${this.where}: check job and namespace`);
            }
            throw err;
        }
        if (this.found)
            return this.found;
        if (this.refused)
            throw this.refused;
        if (this.options.signal.aborted)
            throw this.options.signal.reason;
        throw new GateError(`Timed out waiting for job "${this.jobId}" version ${this.version} to get a deployment${this.where}`, 'timed-out');
    }
    query() {
        return { signal: this.signal, deadline: this.options.deadline };
    }
    /** job-version names a version not registered yet: wait for the job to get it. */
    async untilVersion(index) {
        this.options.log(`Waiting for job "${this.jobId}" to get version ${this.version} (now version ${this.job.Version})`);
        const reached = new AbortController();
        await watch((q) => this.client.job(this.jobId, q), (job) => {
            this.job = job;
            if (job.Version >= this.version)
                reached.abort();
        }, {
            deadline: this.options.deadline,
            signal: AbortSignal.any([reached.signal, this.signal]),
            index,
        });
    }
    /** The deployments and the evaluations of the job, until the version's deployment shows or cannot come. */
    async untilDeployment() {
        const options = { deadline: this.options.deadline, signal: this.signal };
        try {
            await watch((q) => this.client.jobDeployments(this.jobId, q), (list, meta) => this.onDeployments(list, meta), options);
            await this.evaluations;
        }
        catch (err) {
            if (!this.found && !this.refused)
                throw err;
        }
    }
    /**
     * The version has no deployment yet: watch the job's evaluations too, to
     * know when none will come. Only the current version's registration is
     * known by its JobModifyIndex.
     */
    startWaiting() {
        if (this.job.Stop) {
            return this.refuse(`Job "${this.jobId}"${this.where} is stopped: version ${this.version} will not get a deployment`);
        }
        if (this.job.Version !== this.version)
            return;
        const options = { deadline: this.options.deadline, signal: this.signal };
        this.evaluations = watch((q) => this.client.jobEvaluations(this.jobId, q), (evals) => this.onEvaluations(evals), options).catch((err) => {
            // Only a shortcut to a clear failure: without it, the deadline still ends the wait.
            if (!(err instanceof NomadError) || this.signal.aborted)
                throw err;
            this.options.log(`Cannot read the job's evaluations (${err.detail}); waiting for the deployment without them`);
        });
    }
    onDeployments(list, meta) {
        // This incarnation of the job only: a job purged and registered again starts its versions over.
        const mine = list.filter((d) => d.JobCreateIndex === this.job.CreateIndex);
        const exact = mine
            .filter((d) => d.JobVersion === this.version)
            .sort((a, b) => b.CreateIndex - a.CreateIndex);
        if (exact.length > 0) {
            this.found = { deployment: exact[0], meta };
            return this.stop.abort();
        }
        const latest = [...mine].sort((a, b) => b.CreateIndex - a.CreateIndex)[0];
        if (latest && latest.JobVersion > this.version) {
            const than = this.jobVersion === undefined
                ? `version ${this.version}, the job's version when this step started`
                : `job-version ${this.version}`;
            return this.refuse(`Job "${this.jobId}"${this.where} has a deployment of version ${latest.JobVersion} (${latest.ID}), newer than ${than}: refusing to gate another version`, 'deployment-failed');
        }
        if (this.waiting)
            return;
        this.waiting = true;
        const now = latest ? `version ${latest.JobVersion}, ${latest.Status}` : 'none';
        this.options.log(`Waiting for job "${this.jobId}" version ${this.version} to get a deployment (latest: ${now})`);
        this.startWaiting();
    }
    onEvaluations(evals) {
        // nomad/fsm.go applyUpsertJob: the registration's evaluation carries the job's JobModifyIndex.
        const done = evals.filter((e) => e.JobModifyIndex === this.job.JobModifyIndex && TERMINAL_EVAL.includes(e.Status));
        if (done.length === 0 || this.found)
            return;
        // The scheduler writes the deployment before it completes the evaluation: a
        // fresh read after seeing it complete tells for sure.
        void this.client
            .jobDeployments(this.jobId, this.query())
            .then(({ body, meta }) => {
            this.onDeployments(body, meta);
            if (this.found || this.refused)
                return;
            const e = done[0];
            const why = e.Status === 'complete'
                ? 'completed without creating one (an update block with max_parallel = 0, a count of 0, or nothing that needs a deployment changed)'
                : `${e.Status === 'failed' ? 'failed' : 'was canceled'}${e.StatusDescription ? ` (${e.StatusDescription})` : ''}`;
            this.refuse(`Job "${this.jobId}"${this.where} version ${this.version} will not get a deployment: its evaluation ${e.ID.slice(0, 8)} ${why}; nothing to gate`);
        })
            .catch(() => undefined);
    }
    refuse(message, result = 'error') {
        this.refused ??= new GateError(message, result);
        this.stop.abort();
    }
}

;// CONCATENATED MODULE: ./src/checks.ts
// Analysis checks run during the soak: HTTP endpoints that must answer 2xx, and
// one Prometheus instant query whose every sample must stay at or below a
// threshold. A run never throws: whatever goes wrong becomes a failed result
// whose detail says what, because the gate counts failed runs against
// failure-limit and prints the details.





function hasChecks(s) {
    return s.urls.length > 0 || s.prometheus !== undefined;
}
/** Runs every check of one run in parallel. Never throws. */
async function runChecks(s, signal) {
    const atMs = performance.now();
    const results = await Promise.all([
        ...s.urls.map((url) => timed(redactUrl(url), () => checkUrl(url, s, signal))),
        ...(s.prometheus ? [timed('prometheus', () => checkPrometheus(s.prometheus, s, signal))] : []),
    ]);
    return { atMs, ok: results.every((r) => r.ok), results };
}
async function timed(name, check) {
    const start = performance.now();
    let verdict;
    try {
        verdict = await check();
    }
    catch (err) {
        verdict = {
            ok: false,
            detail: `check failed: ${err instanceof Error ? err.message : String(err)}`,
        };
    }
    return { name, ...verdict, ms: Math.round(performance.now() - start) };
}
async function checkUrl(url, c, signal) {
    return request(url, c, signal, '*/*', async (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300)
            return { ok: true, detail: `HTTP ${status}` };
        return { ok: false, detail: statusDetail(res, url) };
    });
}
async function checkPrometheus(p, c, signal) {
    const u = new URL(p.url);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v1/query`;
    u.searchParams.set('query', p.query);
    return request(u.href, c, signal, 'application/json', async (res) => {
        const status = res.statusCode ?? 0;
        const text = await readText(res);
        let body;
        try {
            body = JSON.parse(text);
        }
        catch {
            // a proxy's HTML error page, a truncated answer
        }
        // Prometheus answers errors as JSON with 400 (bad_data), 422 (execution) or 503 (timeout).
        if (body?.status === 'error') {
            return {
                ok: false,
                detail: `query failed: ${oneLine(`${body.errorType ?? 'error'}: ${body.error ?? ''}`, 200)}`,
            };
        }
        if (status < 200 || status >= 300)
            return { ok: false, detail: statusDetail(res, u.href) };
        if (!body || typeof body !== 'object') {
            return {
                ok: false,
                detail: `not JSON from Prometheus (HTTP ${status}, ${res.headers['content-type'] ?? 'no content-type'})`,
            };
        }
        if (body.status !== 'success' || !body.data) {
            return { ok: false, detail: `unexpected answer from Prometheus: ${oneLine(text, 200)}` };
        }
        return checks_judge(body.data, p.threshold);
    });
}
/**
 * One GET (net/http.ts: the proxy variables apply, a fresh connection each
 * time) with the check's timeout, covering the body too, and the caller's
 * signal; redirects are not followed: a check must judge the host it names.
 */
async function request(url, { timeoutMs, proxy }, signal, accept, read) {
    if (signal?.aborted)
        return { ok: false, detail: 'cancelled' };
    let target;
    try {
        target = new URL(url);
    }
    catch {
        return { ok: false, detail: 'invalid URL' };
    }
    const headers = { accept, 'user-agent': 'nomad-canary-gate' };
    // Credentials in the URL go as Basic auth, never in the request line.
    if (target.username || target.password) {
        const user = percentDecoded(target.username);
        const pass = percentDecoded(target.password);
        headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
        target.username = '';
        target.password = '';
    }
    const ctl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
        timedOut = true;
        ctl.abort();
    }, timeoutMs);
    // Not a listener on `signal`: a run's checks are fetched at once, and more
    // than 10 listeners on one signal make Node warn of a leak in the step's log
    // (AbortSignal.any adds none to its sources).
    const either = signal ? AbortSignal.any([signal, ctl.signal]) : ctl.signal;
    const dialer = new Dialer({ proxy, keepAlive: false, connectTimeoutMs: timeoutMs });
    try {
        const res = await dialer.send(target, { method: 'GET', headers, signal: either });
        return await read(res);
    }
    catch (err) {
        if (timedOut)
            return { ok: false, detail: `timed out after ${formatDuration(timeoutMs)}` };
        if (signal?.aborted)
            return { ok: false, detail: 'cancelled' };
        return { ok: false, detail: describeNetworkError(err) };
    }
    finally {
        clearTimeout(timer);
        dialer.destroy();
    }
}
/** A non-2xx answer of a check: its status, and where a redirect (never followed) pointed. */
function statusDetail(res, url) {
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400) {
        const location = res.headers.location;
        if (!location)
            return `HTTP ${status} (redirect without Location)`;
        let to;
        try {
            to = redactUrl(new URL(location, url).href);
        }
        catch {
            to = redactUrl(location);
        }
        return `redirect to ${to} (HTTP ${status}); checks do not follow redirects`;
    }
    return `HTTP ${status}`;
}
/** A failed request in a few words. */
function describeNetworkError(err) {
    if (err instanceof ProxyError)
        return oneLine(err.message);
    const { kind, code, source } = classifyNetworkError(err);
    const message = libraryText(source instanceof Error ? source.message : String(source));
    switch (kind) {
        case 'refused':
            return 'connection refused';
        case 'reset':
            return 'connection reset';
        case 'dns':
            return `cannot resolve host (${code})`;
        case 'unreachable':
            return `host unreachable (${code})`;
        case 'timeout':
            return 'timed out';
        case 'connect-timeout':
            return message;
        case 'tls':
            return `TLS failed: ${message} (${code})`;
    }
    return code ? `${message} (${code})` : message;
}
function checks_judge(data, threshold) {
    let samples;
    if (data.resultType === 'vector' && Array.isArray(data.result)) {
        samples = data.result.map((s) => ({
            labels: formatLabels(s.metric),
            text: String(s.value?.[1]),
        }));
    }
    else if (data.resultType === 'scalar' && Array.isArray(data.result)) {
        samples = [{ labels: 'scalar', text: String(data.result[1]) }];
    }
    else {
        return {
            ok: false,
            detail: `result of type ${String(data.resultType)}: the query must give an instant vector or a scalar`,
        };
    }
    if (samples.length === 0)
        return { ok: false, detail: 'no samples' };
    // NaN (0/0, e.g. an error ratio without traffic) is no evidence of health.
    const bad = samples
        .map((s) => ({ ...s, value: parseValue(s.text) }))
        .filter((s) => !(s.value <= threshold))
        .sort((a, b) => (Number.isNaN(a.value) ? -1 : Number.isNaN(b.value) ? 1 : b.value - a.value));
    if (bad.length === 0) {
        const max = Math.max(...samples.map((s) => parseValue(s.text)));
        return {
            ok: true,
            detail: `${samples.length} sample${samples.length === 1 ? '' : 's'} <= threshold ${threshold} (max ${max})`,
        };
    }
    const worst = bad[0];
    const more = bad.length > 1 ? ` (and ${bad.length - 1} more)` : '';
    const what = Number.isNaN(worst.value)
        ? `value ${worst.text} is not a number`
        : `value ${worst.text} > threshold ${threshold}`;
    return { ok: false, detail: `${what} for ${worst.labels}${more}` };
}
/** Sample values are strings as Go's strconv.FormatFloat writes them: `+Inf`, `-Inf`, `NaN`. */
function parseValue(text) {
    if (text === '+Inf' || text === 'Inf')
        return Infinity;
    if (text === '-Inf')
        return -Infinity;
    return Number(text);
}
/** As Prometheus prints a series: `name{label="value", ...}`. */
function formatLabels(metric) {
    const { __name__: name = '', ...labels } = metric ?? {};
    const inner = Object.entries(labels)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(', ');
    return `${name}{${inner}}`;
}

;// CONCATENATED MODULE: ./src/gate/soak.ts
// The soak's clock: after the canaries pass, hold for `soak`, running the
// checks every check-interval. The watches go on beside it (gate.ts), so a
// canary that stops passing ends the soak at once; this only counts time and
// check runs.




function startSoak(o, signal) {
    const stop = new AbortController();
    const both = AbortSignal.any([stop.signal, signal]);
    const done = run(o, both);
    return { done, stop: () => stop.abort() };
}
async function run(o, signal) {
    const { soakMs, checks } = o;
    const withChecks = hasChecks(checks);
    o.event(`Canaries pass the gate; soaking for ${formatDuration(soakMs)}` +
        (withChecks ? ` with checks every ${formatDuration(checks.intervalMs)}` : ''));
    const end = performance.now() + soakMs;
    let failures = 0;
    for (;;) {
        if (withChecks) {
            const run = await runChecks(checks, signal);
            if (signal.aborted)
                return new Promise(() => { });
            o.runs.push({ ...run, atMs: run.atMs - o.started });
            const detail = run.results.map((c) => `${c.name} ${c.ok ? 'ok' : c.detail}`).join('; ');
            o.event(`Check run ${o.runs.length}: ${run.ok ? 'passed' : 'failed'} (${detail})`);
            if (!run.ok && ++failures > checks.failureLimit) {
                const write = onFailureWrite(o.onFailure);
                return {
                    result: 'check-failed',
                    ok: false,
                    message: `Checks failed ${failures} time(s) during the soak (failure-limit ${checks.failureLimit}): ${detail}`,
                    ...(write ? { write } : {}),
                };
            }
        }
        const left = end - performance.now();
        if (left <= 0)
            break;
        try {
            await sleep(withChecks ? Math.min(left, checks.intervalMs) : left, signal);
        }
        catch {
            // Stopped: this soak's outcome no longer matters.
            return new Promise(() => { });
        }
    }
    o.event(`Soak of ${formatDuration(soakMs)} passed`);
    return 'passed';
}

;// CONCATENATED MODULE: ./src/gate/timeline.ts
// The step's story: every line the gate logs, with its time since the start,
// kept for the job summary's timeline.

class Timeline {
    log;
    started = performance.now();
    events = [];
    constructor(log) {
        this.log = log;
    }
    event(text) {
        const atMs = performance.now() - this.started;
        this.events.push({ atMs, text });
        this.log.info(`[${formatDuration(atMs).padStart(6)}] ${text}`);
    }
    warning(text) {
        this.log.warning(text);
    }
    debug(text) {
        this.log.debug?.(text);
    }
    get elapsedMs() {
        return performance.now() - this.started;
    }
}

;// CONCATENATED MODULE: ./src/gate/view.ts
// What the gate knows of its deployment: the deployment as last read, its
// allocations by ID, and the index each was read at. Watches (blocking queries,
// or the event stream) write into it; decisions read it. One writer at a time:
// the watches call in on the event loop, never concurrently.

class RolloutView {
    selected;
    follows;
    deployment;
    allocs = new Map();
    /** X-Nomad-Index of the deployment's last answer (its ModifyIndex for a read by ID). */
    deploymentIndex;
    /** Index of the allocations' last answer; 0 until they are read. */
    allocsIndex = 0;
    /** The view's version when a plain read last confirmed it current (Follower.confirm). */
    confirmed = -1;
    /** The highest X-Nomad-Index answered to either: the raft index the view is as recent as. */
    lastIndex;
    /** Bumped on every change, so a waiter can tell whether one happened since it looked. */
    version = 0;
    /** ModifyIndex of the first answer that showed every selected group with canaries promoted. */
    promotedAt;
    /**
     * Each group's state as last computed; a change drops the entries of the
     * groups it touches, and readiness() computes again only those: the cost of
     * a change does not grow with the deployment's other groups.
     */
    groups = new Map();
    constructor(deployment, index, selected, 
    /** Whether the allocations are followed too (not by fail, pause, resume). */
    follows = true) {
        this.selected = selected;
        this.follows = follows;
        this.deployment = deployment;
        this.deploymentIndex = index;
        this.lastIndex = index;
        this.notePromotion();
    }
    get allocsRead() {
        return this.allocsIndex > 0;
    }
    /**
     * The deployment and its allocations as one snapshot. Two blocking queries
     * answer apart: the deployment can have changed (failed, paused, promoted by
     * someone else) while its answer is still on its way, whatever the
     * allocations' index says. Both answered at the same index: both are the
     * state at that index. Else the side behind is read again after the other
     * (Follower.confirm), which makes it current as of a moment after the
     * other's answer.
     */
    get consistent() {
        if (!this.follows || this.deploymentIndex === this.allocsIndex)
            return true;
        return this.confirmed === this.version;
    }
    setDeployment(d, index) {
        const before = this.deployment.TaskGroups;
        for (const name of new Set([...Object.keys(before), ...Object.keys(d.TaskGroups)])) {
            if (!sameForGroup(before[name], d.TaskGroups[name]))
                this.groups.delete(name);
        }
        this.deployment = d;
        this.deploymentIndex = Math.max(index, d.ModifyIndex);
        this.lastIndex = Math.max(this.lastIndex, this.deploymentIndex);
        this.notePromotion();
        this.version++;
    }
    /** A full list of the deployment's allocations (a blocking query's answer). */
    setAllocs(list, index) {
        this.allocs.clear();
        for (const a of list)
            this.allocs.set(a.ID, a);
        this.groups.clear();
        this.allocsIndex = Math.max(1, index);
        this.lastIndex = Math.max(this.lastIndex, index);
        this.version++;
    }
    /** One allocation as an event carries it; the caller bumps the indexes (current). */
    upsertAlloc(a) {
        this.allocs.set(a.ID, a);
        this.groups.delete(a.TaskGroup);
    }
    /** The event stream has delivered every change up to `index`: what it follows is that recent. */
    current(index) {
        this.deploymentIndex = Math.max(this.deploymentIndex, index);
        if (this.follows)
            this.allocsIndex = Math.max(this.allocsIndex, index);
        this.lastIndex = Math.max(this.lastIndex, index);
        this.version++;
    }
    readiness() {
        const group = (name) => {
            let g = this.groups.get(name);
            if (!g) {
                g = evaluateGroup(name, this.deployment.TaskGroups[name], this.allocs);
                this.groups.set(name, g);
            }
            return g;
        };
        return combine(this.deployment, group, this.selected);
    }
    runningCanaries() {
        return runningCanaries(this.deployment, this.allocs, this.selected);
    }
    notePromotion() {
        if (this.promotedAt !== undefined)
            return;
        const groups = this.selected
            .map((g) => this.deployment.TaskGroups[g])
            .filter((g) => g && g.DesiredCanaries > 0);
        if (groups.length > 0 && groups.every((g) => g.Promoted))
            this.promotedAt = this.deployment.ModifyIndex;
    }
}
/** Equal in what a group's evaluation reads of the deployment (evaluateGroup): its state stands. */
function sameForGroup(a, b) {
    // The name is the deployment's before or after: a group in only one of them changed.
    if (!a || !b)
        return false;
    if (a.DesiredCanaries !== b.DesiredCanaries || a.Promoted !== b.Promoted)
        return false;
    const pa = a.PlacedCanaries ?? [];
    const pb = b.PlacedCanaries ?? [];
    return pa.length === pb.length && pa.every((id, i) => id === pb[i]);
}

;// CONCATENATED MODULE: ./src/gate/write.ts
// The one write of a step. Never sent twice blindly: after a failure whose
// answer was lost, the deployment is read back (the follower's view), and only
// a write that visibly did not take effect, and failed in a way that can pass
// on a second try, is sent again (nomad-api.md: "read the deployment before
// writing again").





/** A write that has started gets this long to finish even past the step's deadline. */
const WRITE_GRACE_MS = 15_000;
/** After a write: how long the watches get to show its effect before one plain read does. */
const SETTLE_MS = 5_000;
/** The step's writes: sent (or, in a dry run, logged), read back when lost, and settled. */
class Writer {
    o;
    /** The answer to the write, when one was sent and answered. */
    response;
    /** The index at which Nomad applied it; 0 before. */
    index = 0;
    /** dry-run: the write that was planned (and only logged). */
    planned;
    constructor(o) {
        this.o = o;
    }
    /** Sends a write, then waits until the view shows the state after it. */
    async send(kind, health = { healthy: [], unhealthy: [] }) {
        const { o } = this;
        await o.before;
        // Info lines: the step's retries are summed up in one warning (step.ts).
        const ctx = { ...o, ...health, log: (line) => o.timeline.event(line) };
        if (o.dryRun) {
            this.planned = kind;
            o.timeline.event(`Dry run: would send ${o.client.describe(writeRequest(kind, o.view.deployment.ID, ctx))}`);
            return 'sent';
        }
        const out = await applyWrite(kind, ctx);
        if (out.kind === 'refused') {
            o.timeline.event(`Nomad refused the ${kind} (${out.reason}): the deployment changed after the gate read it; reading it again`);
            return 'refused';
        }
        if (out.kind === 'seen') {
            o.timeline.event(`The ${kind} took effect although its answer was lost (seen by re-reading the deployment)`);
            return 'sent';
        }
        const r = out.response;
        this.response = r;
        this.index = Math.max(out.index, r.DeploymentModifyIndex);
        o.timeline.event(`Sent ${kind}: ${describeAnswer(r)}`);
        await this.settle(kind);
        return 'sent';
    }
    /** on-failure's write after a failed gate; a deployment that ended meanwhile needs none. */
    async onFailure(kind, verdict) {
        if ((await this.send(kind)) === 'sent') {
            // What on-failure did, in words: the step's message and the summary say it.
            const did = this.o.dryRun ? `would ${kind}` : PAST[kind];
            const id = shortId(this.o.view.deployment.ID);
            const after = AFTER[verdict.result] ?? `after ${verdict.result}`;
            const sentence = `${did[0].toUpperCase()}${did.slice(1)} deployment ${id} ${after} (on-failure: ${kind})`;
            return { ...verdict, message: `${verdict.message}. ${sentence}` };
        }
        await this.readAfterWrite();
        const d = this.o.view.deployment;
        return {
            ...verdict,
            message: `${verdict.message}; on-failure ${kind} not applied: the deployment is ${d.Status}`,
        };
    }
    /** Another actor's promotion landed before this step's own (which Nomad then applied again). */
    promotedBySomeoneElse() {
        const at = this.o.view.promotedAt;
        if (at === undefined || this.index === 0 || at >= this.index)
            return undefined;
        return {
            result: 'already-promoted',
            ok: true,
            message: `Already promoted by someone else (index ${at}) before this gate's promote (index ${this.index}) reached Nomad: ${describeGroups(this.o.view.readiness().groups)}`,
        };
    }
    /** Until the view is at or past the write's index (the outputs describe the state after it). */
    async settle(kind) {
        const allocs = kind === 'promote' || kind === 'health';
        const last = !(kind === 'promote' && this.o.waitForCompletion);
        const until = performance.now() + SETTLE_MS;
        if (await this.o.follower.settle(this.index, { allocs, last, until }))
            return;
        await this.readAfterWrite();
    }
    /**
     * The watches did not show the state after the write (they end at the
     * deadline; an on-failure write comes after it): read it, retrying within
     * SETTLE_MS. Best effort: the write stands whatever this read says.
     */
    async readAfterWrite() {
        const o = { signal: AbortSignal.timeout(SETTLE_MS), deadline: performance.now() + SETTLE_MS };
        await this.o.follower.refresh(o).catch(() => undefined);
    }
}
/**
 * Refusals that the state explains (nomad/state/state_store.go
 * UpdateDeploymentPromotion, nomad/deployment_endpoint.go): too few healthy
 * canaries now, or a deployment that ended meanwhile. Re-reading and deciding
 * again is the answer; sending again is not.
 */
const REFUSED_BY_STATE = /has \d+\/\d+ healthy allocations|terminal (deployment|status)/i;
async function applyWrite(kind, ctx) {
    const deadline = Math.max(ctx.deadline, performance.now() + WRITE_GRACE_MS);
    const request = writeRequest(kind, ctx.view.deployment.ID, ctx);
    for (let attempt = 1;; attempt++) {
        try {
            // No abort signal: a cancellation that arrives now waits for the answer, so
            // the outputs say what the server did.
            const { body, meta } = await ctx.client.write(request);
            return { kind: 'applied', response: body, index: meta.lastIndex };
        }
        catch (err) {
            if (!(err instanceof NomadError))
                throw err;
            if (err.kind === 'http' && !err.retryable && REFUSED_BY_STATE.test(err.detail)) {
                return { kind: 'refused', reason: err.detail };
            }
            // A 4xx is the server refusing the request as sent: nothing was applied.
            if (err.kind === 'http' && err.status !== undefined && err.status < 500)
                throw err;
            if (await readBack(kind, ctx, err, deadline)) {
                ctx.log(`The ${kind} request failed (${err.detail}), but the deployment shows it in effect: not sending it again`);
                return { kind: 'seen' };
            }
            if (!err.retryable && !err.ambiguous)
                throw err;
            const delayMs = backoffMs({ baseMs: 200, maxMs: 2_000 }, attempt);
            if (performance.now() + delayMs >= deadline)
                throw err;
            ctx.client.reportRetry(err, attempt, delayMs);
            ctx.log(`The ${kind} request failed (${err.detail}) and did not take effect; sending it again in ${delayMs} ms`);
            await sleep(delayMs, ctx.signal).catch(() => {
                throw err;
            });
        }
    }
}
/** The request a write of this kind sends. */
function writeRequest(kind, id, ctx) {
    switch (kind) {
        case 'promote':
            return promoteRequest(id, ctx.groups);
        case 'fail':
            return failRequest(id);
        case 'pause':
            return pauseRequest(id, true);
        case 'resume':
            return pauseRequest(id, false);
        case 'health':
            return allocHealthRequest(id, ctx.healthy, ctx.unhealthy);
    }
}
/**
 * Is the write's effect there? Read the deployment and its allocations now; a
 * write that timed out may still be queued on the server, which applies it
 * whether or not we still listen: then watch for it as long again as we
 * waited for the answer before sending it a second time.
 */
async function readBack(kind, ctx, cause, deadline) {
    try {
        await ctx.follower.refresh({ deadline });
        if (cause.kind !== 'timeout')
            return inEffect(kind, ctx);
        const until = performance.now() + ctx.client.requestTimeoutMs;
        while (!inEffect(kind, ctx) && performance.now() < until && !ctx.signal.aborted) {
            if (!ctx.follower.ended)
                await ctx.follower.changed(ctx.view.version, until);
            else
                await sleep(Math.min(250, until - performance.now())).then(() => ctx.follower.refresh({ deadline }));
        }
        return inEffect(kind, ctx);
    }
    catch (err) {
        if (!(err instanceof NomadError))
            throw err;
        const id = ctx.view.deployment.ID;
        throw new GateError(`The ${kind} of deployment ${id} may or may not have been applied: its answer was lost (${cause.detail}) and reading the deployment back failed (${err.detail}); check it with 'nomad deployment status ${id}' before running the step again`);
    }
}
function inEffect(kind, ctx) {
    const d = ctx.view.deployment;
    if (kind !== 'health')
        return deploymentShows(kind, d, ctx.groups);
    const health = (id) => ctx.view.allocs.get(id)?.DeploymentStatus?.Healthy ?? null;
    return (ctx.healthy.every((a) => health(a) === true) && ctx.unhealthy.every((a) => health(a) === false));
}
function deploymentShows(kind, d, groups) {
    switch (kind) {
        case 'promote': {
            const names = groups.length ? groups : Object.keys(d.TaskGroups);
            return names
                .map((g) => d.TaskGroups[g])
                .filter((s) => s && s.DesiredCanaries > 0)
                .every((s) => s.Promoted);
        }
        case 'fail':
            return d.Status === 'failed';
        case 'pause':
            return d.Status === 'paused';
        case 'resume':
            return d.Status === 'running';
    }
}
/** on-failure's write, done. */
const PAST = {
    fail: 'failed',
    pause: 'paused',
    resume: 'resumed',
    promote: 'promoted',
    health: 'set health in',
};
/** Why on-failure acted, by the verdict. */
const AFTER = {
    'timed-out': 'after the deadline',
    unhealthy: 'after a canary turned unhealthy',
    'check-failed': 'after the checks failed',
};

;// CONCATENATED MODULE: ./src/gate/gate.ts
// The gate's orchestration: resolve the deployment, follow it until the
// decisions (decide.ts) end the step, and send the one write they ask for.
// Knows nothing of GitHub: action.ts and cli.ts are thin fronts on runGate().
//
// One loop owns everything that changes: the view (written only by the
// follower's watches), the phase, the soak's clock and the write. It asks
// decide() after every change; a wait ends at the next change, the soak's end
// or the deadline, whichever comes first.
















function runGate(settings, deps) {
    return new GateRun(settings, deps).run();
}
const PROGRESS_MS = 60_000;
const FOLLOWING = { events: 'the event stream', blocking: 'with blocking queries' };
class GateRun {
    settings;
    deps;
    timeline;
    deadline;
    signal;
    checkRuns = [];
    canaries = new CanaryLog();
    view;
    follower;
    writer;
    uiUrl;
    /** performance.now() of the last waiting line. */
    lastProgressAt = performance.now();
    constructor(settings, deps) {
        this.settings = settings;
        this.deps = deps;
        this.timeline = new Timeline(deps.log);
        this.deadline = this.timeline.started + settings.timeoutMs;
        this.signal = deps.signal ?? new AbortController().signal;
    }
    async run() {
        try {
            return this.finish(await this.gate());
        }
        catch (err) {
            if (this.signal.aborted)
                return this.finish(cancelled());
            if (err instanceof GateError)
                return this.finish({ result: err.result, ok: false, message: err.message });
            if (err instanceof NomadError)
                return this.finish({ result: 'error', ok: false, message: err.message });
            throw err;
        }
        finally {
            this.follower?.stop();
        }
    }
    async gate() {
        const { settings, deps } = this;
        const resolved = await resolveDeployment(settings.target, deps.client, {
            deadline: this.deadline,
            signal: this.signal,
            log: (line) => this.event(line),
        });
        const d = resolved.deployment;
        this.uiUrl = nomadUiUrl(settings.nomad.address, d.JobID, d.Namespace);
        this.event(`Deployment ${d.ID} of job "${d.JobID}" version ${d.JobVersion} (namespace ${d.Namespace}): ${d.Status}, "${d.StatusDescription}"`);
        this.event(`In Nomad's UI: ${this.uiUrl}`);
        const mode = settings.mode;
        const gating = mode === 'promote' || mode === 'wait' || mode === 'health';
        if (gating) {
            const missing = unknownGroups(d, settings.groups);
            if (missing.length > 0) {
                throw new GateError(`Input 'groups': deployment ${shortId(d.ID)} has no task group ${missing.map((g) => `"${g}"`).join(', ')}; its groups are ${Object.keys(d.TaskGroups).sort().join(', ') || '(none)'}`);
            }
        }
        const selected = selectGroups(d, settings.groups);
        if (gating && !selected.some((g) => d.TaskGroups[g].DesiredCanaries > 0)) {
            throw new GateError(`Deployment ${shortId(d.ID)} has no canaries to gate in ${settings.groups.length ? `groups ${selected.join(', ')}` : 'any group'} (job "${d.JobID}" version ${d.JobVersion}); add a canary count to the job's update block`);
        }
        const view = (this.view = new RolloutView(d, resolved.meta.lastIndex, selected, gating));
        // fail / pause / resume read no allocations: their outputs have no group counts.
        this.follower = follow(deps.client, view, {
            deadline: this.deadline,
            signal: this.signal,
            allocs: gating,
            watch: settings.watch,
            streamWaitMs: deps.streamWaitMs,
            note: (line) => this.event(line),
        });
        // Beside the wait, not in front of it: a token that evidently cannot write
        // is said at the start, and always before the first write.
        const access = gating
            ? checkWriteAccess({
                client: deps.client,
                namespace: d.Namespace,
                writes: settings.dryRun ? [] : stepWrites(settings),
                signal: this.signal,
                warning: (line) => this.timeline.warning(line),
                debug: (line) => this.timeline.debug(line),
            })
            : undefined;
        const writer = (this.writer = new Writer({
            client: deps.client,
            view,
            follower: this.follower,
            timeline: this.timeline,
            groups: settings.groups.length ? [...selected] : [],
            dryRun: settings.dryRun,
            waitForCompletion: settings.waitForCompletion,
            deadline: this.deadline,
            signal: this.signal,
            before: access,
        }));
        if (!gating)
            return actNow(mode, view, writer, this.follower);
        try {
            this.event(`Gating on ${selected.join(', ')} (${mode}); deadline ${formatDuration(settings.timeoutMs)}; following ${FOLLOWING[this.follower.method]}`);
            const verdict = await this.watch();
            return verdict.write ? await writer.onFailure(verdict.write, verdict) : verdict;
        }
        finally {
            await access;
        }
    }
    /** promote / wait / health: decide after every change until a verdict. */
    async watch() {
        const { settings } = this;
        const view = this.view;
        const follower = this.follower;
        const writer = this.writer;
        const policy = {
            mode: settings.mode,
            onFailure: settings.onFailure,
            onUnhealthyCanary: settings.onUnhealthyCanary,
            soak: settings.soakMs > 0,
        };
        let phase = 'gating';
        let soak;
        /** view.version when Nomad refused the promote: not sent again before the next change. */
        let heldAt;
        let promotedAs;
        let said = '';
        let timer;
        const timeUp = new Promise((resolve) => {
            timer = setTimeout(() => resolve('deadline'), Math.max(0, this.deadline - performance.now()));
        });
        try {
            for (;;) {
                const version = view.version;
                // Nothing is judged before the allocations are read.
                if (view.allocsRead) {
                    const readiness = view.readiness();
                    for (const line of this.canaries.changes(view, readiness.groups))
                        this.event(line);
                    const situation = {
                        readiness,
                        deployment: view.deployment,
                        phase,
                        promoteHeld: heldAt === version,
                        canariesRunning: policy.mode === 'health' && view.runningCanaries() !== undefined,
                        promotedAs,
                    };
                    const step = decide(situation, policy);
                    this.timeline.debug(`Decision on deployment @${view.deploymentIndex}, allocations @${view.allocsIndex}: ${describeStep(step)}`);
                    // A verdict that ends the step without a write is made on one snapshot (a
                    // promote is not held up for it: Nomad judges it, and the watches settle after it).
                    if (step.kind === 'end' && step.verdict.write !== 'promote' && !view.consistent) {
                        await follower.confirm();
                        continue;
                    }
                    if (step.kind === 'end') {
                        if (step.verdict.write !== 'promote')
                            return step.verdict;
                        if ((await writer.send('promote')) === 'refused') {
                            // Read again, and do not send it again before something changes after that read.
                            await follower.refresh();
                            heldAt = view.version;
                            continue;
                        }
                        const { write: _sent, ...promoted } = step.verdict;
                        const verdict = writer.promotedBySomeoneElse() ?? promoted;
                        if (!settings.waitForCompletion || settings.dryRun)
                            return verdict;
                        promotedAs = verdict;
                        phase = 'completing';
                        this.event('Waiting for the deployment to complete');
                        continue;
                    }
                    if (step.kind === 'soak') {
                        phase = 'soaking';
                        const options = { ...settings, started: this.timeline.started, runs: this.checkRuns };
                        soak = startSoak({ ...options, event: (l) => this.event(l) }, this.signal);
                        continue;
                    }
                    if (step.kind === 'set-health') {
                        const where = { deploymentId: view.deployment.ID, groups: view.selected };
                        const { verdict, ...health } = healthTargets(settings, view.runningCanaries(), where);
                        if ((await writer.send('health', health)) === 'sent')
                            return verdict;
                        continue;
                    }
                    if (step.phase) {
                        phase = step.phase;
                        soak?.stop();
                        soak = undefined;
                    }
                    if (step.why !== said && step.why !== 'soaking')
                        this.progress(step.why);
                    said = step.why;
                }
                // While nothing changes, a line at least every minute: a long wait must not look hung.
                const quiet = this.lastProgressAt + (this.deps.progressMs ?? PROGRESS_MS);
                const woke = await Promise.race([
                    follower.changed(version, quiet),
                    timeUp,
                    soak?.done ?? NEVER,
                ]);
                if (woke === undefined && view.version === version && !follower.ended) {
                    if (performance.now() >= quiet && said !== 'soaking')
                        this.progress(said || 'Waiting for the allocations');
                    continue;
                }
                if (woke === 'passed') {
                    phase = 'soaked';
                    soak = undefined;
                }
                else if (woke !== undefined && woke !== 'deadline') {
                    return woke;
                }
                if (woke === 'deadline' || follower.ended) {
                    // The watches stop at the same deadline: a read that was failing until
                    // then is the answer, not a quiet timeout.
                    await follower.done;
                    if (this.signal.aborted)
                        return cancelled();
                    const readiness = view.readiness();
                    const s = { readiness, deployment: view.deployment, phase, promotedAs };
                    return timeoutVerdict(s, policy, formatDuration(settings.timeoutMs));
                }
            }
        }
        finally {
            clearTimeout(timer);
            soak?.stop();
        }
    }
    /** A waiting line: what the canaries wait for, and the time left. */
    progress(why) {
        this.lastProgressAt = performance.now();
        const left = Math.max(0, this.deadline - this.lastProgressAt);
        this.event(`${why} (${formatDuration(left)} left)`);
    }
    event(text) {
        this.timeline.event(text);
    }
    finish(verdict) {
        const view = this.view;
        const writer = this.writer;
        const would = writer?.planned && DRY_RUN_RESULT[verdict.result];
        return {
            ok: verdict.ok,
            result: would || verdict.result,
            message: would ? `Dry run, nothing sent: ${verdict.message}` : verdict.message,
            deployment: view?.deployment,
            groups: view?.allocsRead ? view.readiness().groups : [],
            write: writer?.response,
            index: Math.max(view?.lastIndex ?? 0, writer?.index ?? 0),
            elapsedMs: this.timeline.elapsedMs,
            timeline: this.timeline.events,
            checks: this.checkRuns,
            uiUrl: this.uiUrl,
            ...(this.follower ? { followed: this.follower.method } : {}),
        };
    }
}
const NEVER = new Promise(() => { });
/** The writes a gating step may send: its mode's, and on-failure's. */
function stepWrites(settings) {
    const writes = [];
    if (settings.mode === 'promote' || settings.mode === 'health')
        writes.push(settings.mode);
    if (settings.onFailure !== 'none')
        writes.push(settings.onFailure);
    return writes;
}
function cancelled() {
    return { result: 'cancelled', ok: false, message: 'Cancelled by a signal; nothing was sent' };
}
/** A decision in a few words, for the debug lines. */
function describeStep(step) {
    switch (step.kind) {
        case 'end':
            return `${step.verdict.result}${step.verdict.write ? ` (send ${step.verdict.write})` : ''}`;
        case 'wait':
            return `wait: ${step.why}`;
        default:
            return step.kind;
    }
}

;// CONCATENATED MODULE: ./src/login.ts
// The step's sign-in with a Nomad JWT auth method: the CI's JWT (the
// workflow's OIDC token, or login-token) exchanged for a Nomad token
// (POST /v1/acl/login) that every later request carries. The token's secret
// goes to the front (which masks it) before anything else is logged; a
// refusal says what to fix, from Nomad's own text.



/** A login that Nomad refused, or that could not reach it: the step ends with `error`. */
class LoginError extends Error {
    name = 'LoginError';
}
/**
 * The client config of the step: the settings' own, or with auth-method the
 * one that carries the token the login returned; the step's outcome instead
 * when the login failed or was cancelled. The deadline is the step's.
 */
async function loginForStep(settings, deps) {
    const login = settings.login;
    if (!login)
        return { config: settings.nomad };
    const started = performance.now();
    // The login's own client, without a token; the gate's carries the one it returns.
    const client = new NomadClient(settings.nomad, deps.clientOptions);
    try {
        const config = await signIn(login, settings.nomad, {
            jwt: login.token ?? deps.loginToken ?? '',
            fromRunner: login.token === undefined,
            client,
            log: deps.log,
            deadline: started + settings.timeoutMs,
            signal: deps.signal,
            onSecret: deps.onSecret,
            stepLeftMs: settings.timeoutMs,
        });
        return { config };
    }
    catch (err) {
        if (deps.signal.aborted) {
            return { outcome: ended('cancelled', 'Cancelled by a signal; nothing was sent', started) };
        }
        if (err instanceof LoginError)
            return { outcome: ended('error', err.message, started) };
        throw err;
    }
    finally {
        client.close();
    }
}
/** The outcome of a step that ended at its login. */
function ended(result, message, started) {
    return {
        ok: false,
        result,
        message,
        groups: [],
        index: 0,
        elapsedMs: Math.round(performance.now() - started),
        timeline: [],
        checks: [],
    };
}
/** Logs in and returns the client config that carries the new token. */
async function signIn(login, config, s) {
    if (s.jwt === '') {
        throw new LoginError(`auth-method "${login.authMethod}" needs a JWT to log in with: set login-token (NOMAD_LOGIN_TOKEN)`);
    }
    let token;
    try {
        token = (await s.client.login(login.authMethod, s.jwt, { deadline: s.deadline, signal: s.signal })).body;
    }
    catch (err) {
        if (!(err instanceof NomadError) || err.kind === 'aborted')
            throw err;
        throw new LoginError(refusalMessage(login, err, s.jwt, s.fromRunner));
    }
    if (!token || typeof token.SecretID !== 'string' || token.SecretID === '') {
        throw new LoginError(`Login with auth method "${login.authMethod}": Nomad answered without a token (POST /v1/acl/login)`);
    }
    s.onSecret?.(token.SecretID);
    const policies = [...(token.Policies ?? []), ...(token.Roles ?? []).map((r) => `role ${r.Name}`)];
    const ttlMs = tokenTtlMs(token);
    s.log.info(`Logged in to Nomad with auth method "${login.authMethod}": token ${token.AccessorID} ("${token.Name}"), ${token.Type === 'management' ? 'management' : `policies ${policies.join(', ') || '(none)'}`}${ttlMs ? `, valid for ${formatDuration(ttlMs)}` : ''}`);
    if (ttlMs && ttlMs < s.stepLeftMs) {
        s.log.warning(`The token of auth method "${login.authMethod}" expires in ${formatDuration(ttlMs)}, before the step's timeout: requests after that are refused (403). Raise the auth method's MaxTokenTTL or lower timeout`);
    }
    return { ...config, token: token.SecretID };
}
/** The token's lifetime from its own TTL (not the clocks): 0 when it does not expire. */
function tokenTtlMs(t) {
    const ns = Number(t.ExpirationTTL ?? 0);
    if (Number.isFinite(ns) && ns > 0)
        return Math.round(ns / 1e6);
    if (!t.ExpirationTime)
        return 0;
    const ms = Date.parse(t.ExpirationTime) - Date.parse(t.CreateTime);
    return Number.isFinite(ms) && ms > 0 ? ms : 0;
}
/** The JWT's claims, read without checking anything, to quote them (they are not secret; the JWT is). */
function claimsOf(jwt) {
    try {
        const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
        return payload && typeof payload === 'object' ? payload : {};
    }
    catch {
        return {};
    }
}
const q = (v) => typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v ?? null);
/** What to fix, for each refusal Nomad can give (nomad/acl_endpoint.go Login and lib/auth/jwt). */
function refusalMessage(login, err, jwt, fromRunner) {
    const method = `auth method "${login.authMethod}"`;
    const c = claimsOf(jwt);
    const exp = typeof c.exp === 'number' ? new Date(c.exp * 1000).toISOString() : undefined;
    const advice = {
        'acl-disabled': 'Nomad has ACLs disabled, so there is nothing to log in to: remove auth-method',
        'unknown-method': `Nomad has no ${method}: check auth-method against \`nomad acl auth-method list\``,
        'not-jwt': `${method} is not of type JWT: auth-method needs one created with \`nomad acl auth-method create -type=JWT\``,
        audience: `the token's audience (aud ${q(c.aud)}) is not one of the BoundAudiences of ${method}: ${fromRunner
            ? `set auth-audience to one of them, or add ${q(login.audience)} to BoundAudiences`
            : 'mint the token for one of them, or add its audience to BoundAudiences'}`,
        issuer: `the token's issuer (iss ${q(c.iss)}) is not in the BoundIssuer of ${method}: add it there (GitHub Actions: "https://token.actions.githubusercontent.com")`,
        expired: `the token had expired (exp ${exp ?? 'unknown'}) when Nomad checked it: use a fresh one, or check the clocks of Nomad's servers (ExpirationLeeway, ClockSkewLeeway)`,
        'not-yet-valid': "the token is not valid yet by Nomad's clock (nbf/iat in the future): check the clocks of Nomad's servers, or raise NotBeforeLeeway/ClockSkewLeeway",
        'no-times': 'the token has none of iat, nbf and exp, which Nomad requires',
        signature: `no key of ${method} verifies the token's signature: the token comes from another issuer than its JWKSURL or JWTValidationPubKeys (GitHub Actions: JWKSURL "https://token.actions.githubusercontent.com/.well-known/jwks")`,
        algorithm: `the token is signed with alg ${q(algOf(jwt))}, which the SigningAlgs of ${method} do not list (RS256 when empty): add it there`,
        keys: `Nomad could not get the keys of ${method}: check its JWKSURL (Nomad's servers must reach it) or JWTValidationPubKeys`,
        malformed: 'the login token is not a JWT',
        'no-binding': `the token's claims match no binding rule of ${method} that binds an existing policy or role (sub ${q(c.sub)}): add a binding rule whose selector matches them (\`nomad acl binding-rule create -auth-method=${login.authMethod} -bind-type=policy ...\`), or check its ClaimMappings and the policy's name`,
        version: 'every Nomad server must run 1.5.4 or later for JWT auth methods: upgrade them',
        other: '',
    };
    const kind = loginRefusal(err);
    const what = advice[kind];
    const nomadSays = err.status ? `HTTP ${err.status}: ${err.detail}` : err.detail;
    return what
        ? `Login with ${method} refused: ${what} (Nomad: ${nomadSays})`
        : `Login with ${method} failed: ${err.message}`;
}
function algOf(jwt) {
    try {
        return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8')).alg;
    }
    catch {
        return undefined;
    }
}

;// CONCATENATED MODULE: ./src/step.ts
// One run of the gate as a CI step, shared by the action and the CLI: the
// Nomad client's life, retry notices in the log, and cancellation by SIGINT or
// SIGTERM (the runner sends SIGINT, then SIGTERM 7.5 s later, then kills).






const SKIP_VERIFY_WARNING = 'tls-skip-verify is on: the certificate of Nomad is not checked, so anyone on the path can read the token and forge answers. Use ca-cert instead.';
async function runStep(settings, log, options = {}) {
    if (settings.nomad.tls.skipVerify)
        log.warning(SKIP_VERIFY_WARNING);
    const cancel = new AbortController();
    const onSignal = (sig) => {
        if (!cancel.signal.aborted) {
            log.warning(`Received ${sig}: stopping; no write is sent now (one already sent is waited for)`);
        }
        cancel.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Each retry is an info line; one warning at the end sums them up, so a
    // step that recovered does not look like one that failed.
    const retries = new RetryTally();
    const debug = log.debug;
    const clientOptions = {
        requestTimeoutMs: settings.requestTimeoutMs,
        onRetry: (err, attempt, delayMs, told) => {
            retries.add(err);
            if (!told)
                log.info(`${err.message}; retry ${attempt} in ${formatDuration(delayMs)}`);
            debug?.(`Retry ${attempt} of ${err.method} ${err.path} in ${formatDuration(delayMs)}: ${retryCause(err)} (${err.kind}${err.ambiguous ? ', may have been applied' : ''})`);
        },
        onExchange: debug && ((r) => debug(describeExchange(r))),
    };
    if (debug) {
        const proxy = proxyFor(new URL(settings.nomad.address), settings.nomad.proxy);
        debug(`Nomad at ${settings.nomad.address}: ${proxy ? `through the proxy ${describeProxy(proxy)}` : 'direct (no proxy)'}`);
    }
    let client;
    try {
        // With auth-method, the client carries the token that the login returns.
        const nomad = await loginForStep(settings, {
            ...options,
            log,
            clientOptions,
            signal: cancel.signal,
        });
        if ('outcome' in nomad)
            return nomad.outcome;
        client = new NomadClient(nomad.config, clientOptions);
        return await runGate(settings, { client, log, signal: cancel.signal });
    }
    finally {
        client?.close();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        const summary = retries.summary();
        if (summary)
            log.warning(summary);
    }
}
/** A request in one debug line: never a header (the token is one), only what identifies it. */
function describeExchange(r) {
    const took = formatDuration(r.ms);
    if (r.status === 0)
        return `${r.method} ${r.target}: no answer (${r.error ? retryCause(r.error) : 'unknown'}), ${took}`;
    const index = r.index ? `, X-Nomad-Index ${r.index}` : '';
    return `${r.method} ${r.target}: ${r.status}${index}, ${took}`;
}
/** The retries of a step by cause: `3 requests were retried: connection reset (2), No cluster leader (1)`. */
class RetryTally {
    causes = new Map();
    count = 0;
    add(err) {
        const cause = retryCause(err);
        this.causes.set(cause, (this.causes.get(cause) ?? 0) + 1);
        this.count++;
    }
    /** One line, or '' when nothing was retried. */
    summary() {
        if (this.count === 0)
            return '';
        const causes = [...this.causes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} (${n})`);
        const requests = this.count === 1 ? '1 request was' : `${this.count} requests were`;
        return `${requests} retried: ${causes.join(', ')}`;
    }
}

;// CONCATENATED MODULE: ./src/action.ts
// The GitHub Action front: inputs in; outputs, the job summary, GitHub
// deployment statuses and the exit status out. The gate does the rest.
//
// @actions/core is loaded once the gate has something to say, not before its
// first request: it imports @actions/http-client and undici (for OIDC tokens),
// most of this bundle, which Node 24 takes tens of milliseconds to compile and
// run (bench/README.md, "Start-up"). Until then the front needs only its inputs
// and the masking of secrets: the runner's INPUT_* variables and one workflow
// command, read and written here as @actions/core does (actions/toolkit,
// packages/core/src/core.ts getInput and setSecret, command.ts escapeData).






let loading;
/** @actions/core, loaded on first use; what waits for it keeps its order. */
const core = () => (loading ??= Promise.all(/* import() */[__nccwpck_require__.e(119), __nccwpck_require__.e(421)]).then(__nccwpck_require__.bind(__nccwpck_require__, 6421)));
const info = (line) => void core().then((c) => c.info(line));
const warning = (line) => void core().then((c) => c.warning(line));
const debugLine = (line) => void core().then((c) => c.debug(line));
async function action_run(env = process.env) {
    try {
        // Each secret is masked as the parser reads it, before anything is logged,
        // even when a later input turns out bad (interface.md).
        const settings = parseSettings(getInput, env, { onSecret: mask });
        // auth-method: the workflow's OIDC token, unless login-token gave one (core masks it).
        const login = settings.login;
        const loginToken = login && !login.token ? await workflowIdToken(login.audience) : undefined;
        // The GitHub side runs beside the gate, never in front of its first request.
        const reporter = settings.github
            ? core().then(async (c) => {
                const r = await startDeploymentReporter(settings.github, c.warning);
                await r.status('in_progress', 'Gating the Nomad canaries');
                return r;
            })
            : undefined;
        // A re-run with debug logging: every request, retry and decision. The
        // runner sets RUNNER_DEBUG=1 (core.ts isDebug reads the same).
        const debug = env.RUNNER_DEBUG === '1' ? debugLine : undefined;
        const outcome = await runStep(settings, { info, warning, debug }, { loginToken, onSecret: mask });
        const c = await core();
        for (const [name, value] of Object.entries(outputs(outcome)))
            c.setOutput(name, value);
        if (reporter) {
            const r = await reporter;
            if (r.deploymentId)
                c.setOutput('github-deployment-id', String(r.deploymentId));
            await r.status(githubState(outcome), outcome.message);
        }
        if (env.GITHUB_STEP_SUMMARY)
            await c.summary.addRaw(summaryMarkdown(outcome)).write();
        if (outcome.ok)
            c.info(headline(outcome));
        else
            c.setFailed(headline(outcome));
    }
    catch (err) {
        const c = await core();
        c.setOutput('result', 'error');
        c.setFailed(err instanceof Error ? err.message : String(err));
    }
}
/** success once promoted; still in progress while only promotable (a later step promotes). */
function githubState(o) {
    if (o.result === 'cancelled')
        return 'inactive';
    if (!o.ok)
        return 'failure';
    return o.result === 'promotable' || o.result.startsWith('would-') ? 'in_progress' : 'success';
}
/**
 * The job's OIDC ID token for `audience` (core.getIDToken, which masks it).
 * Without `permissions: id-token: write` the runner sets no
 * ACTIONS_ID_TOKEN_REQUEST_URL, and core says only that.
 */
async function workflowIdToken(audience) {
    try {
        return await (await core()).getIDToken(audience);
    }
    catch (err) {
        const why = (err instanceof Error ? err.message : String(err)).replace(/^Error message: /, '');
        if (/ACTIONS_ID_TOKEN_REQUEST_(URL|TOKEN)/.test(why)) {
            throw new Error(`auth-method needs the workflow's OIDC token, and the runner offers none: give the job \`permissions: id-token: write\` (pull requests from forks never get one) (${why})`, { cause: err });
        }
        const first = why
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean)
            .join(' ');
        throw new Error(`Could not get the workflow's OIDC token for audience "${audience}": ${first}`, { cause: err });
    }
}
/** core.getInput(name): INPUT_<NAME> (spaces as underscores), trimmed. */
function getInput(name) {
    return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '').trim();
}
/** The runner masks a multi-line secret line by line only when told each line. */
function mask(secret) {
    addMask(secret);
    for (const line of secret.split(/\r?\n/))
        if (line.trim().length > 3)
            addMask(line.trim());
}
/** core.setSecret: the add-mask command, at once (before anything that could print the secret). */
function addMask(secret) {
    const data = secret.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
    process.stdout.write(`::add-mask::${data}${external_node_os_namespaceObject.EOL}`);
}


/***/ }),

/***/ 1730:
/***/ ((module, __unused_webpack___webpack_exports__, __nccwpck_require__) => {

__nccwpck_require__.a(module, async (__webpack_handle_async_dependencies__, __webpack_async_result__) => { try {
/* harmony import */ var _action_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(644);
// Entry of the action's bundle (dist/index.js).

await (0,_action_js__WEBPACK_IMPORTED_MODULE_0__/* .run */ .e)();

__webpack_async_result__();
} catch(e) { __webpack_async_result__(e); } }, 1);

/***/ }),

/***/ 2613:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("assert");

/***/ }),

/***/ 5317:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("child_process");

/***/ }),

/***/ 6982:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("crypto");

/***/ }),

/***/ 4434:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("events");

/***/ }),

/***/ 9896:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("fs");

/***/ }),

/***/ 8611:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("http");

/***/ }),

/***/ 5692:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("https");

/***/ }),

/***/ 9278:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("net");

/***/ }),

/***/ 4589:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:assert");

/***/ }),

/***/ 6698:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:async_hooks");

/***/ }),

/***/ 4573:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:buffer");

/***/ }),

/***/ 7540:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:console");

/***/ }),

/***/ 7598:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");

/***/ }),

/***/ 3053:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:diagnostics_channel");

/***/ }),

/***/ 610:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:dns");

/***/ }),

/***/ 8474:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:events");

/***/ }),

/***/ 7067:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http");

/***/ }),

/***/ 2467:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http2");

/***/ }),

/***/ 7030:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:net");

/***/ }),

/***/ 643:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:perf_hooks");

/***/ }),

/***/ 1792:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:querystring");

/***/ }),

/***/ 7075:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:stream");

/***/ }),

/***/ 1692:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:tls");

/***/ }),

/***/ 3136:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:url");

/***/ }),

/***/ 7975:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util");

/***/ }),

/***/ 3429:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util/types");

/***/ }),

/***/ 5919:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");

/***/ }),

/***/ 8522:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:zlib");

/***/ }),

/***/ 857:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("os");

/***/ }),

/***/ 6928:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("path");

/***/ }),

/***/ 3193:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("string_decoder");

/***/ }),

/***/ 3557:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("timers");

/***/ }),

/***/ 4756:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("tls");

/***/ }),

/***/ 9023:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("util");

/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId].call(module.exports, module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/******/ // expose the modules object (__webpack_modules__)
/******/ __nccwpck_require__.m = __webpack_modules__;
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/async module */
/******/ (() => {
/******/ 	var webpackQueues = typeof Symbol === "function" ? Symbol("webpack queues") : "__webpack_queues__";
/******/ 	var webpackExports = typeof Symbol === "function" ? Symbol("webpack exports") : "__webpack_exports__";
/******/ 	var webpackError = typeof Symbol === "function" ? Symbol("webpack error") : "__webpack_error__";
/******/ 	var resolveQueue = (queue) => {
/******/ 		if(queue && queue.d < 1) {
/******/ 			queue.d = 1;
/******/ 			queue.forEach((fn) => (fn.r--));
/******/ 			queue.forEach((fn) => (fn.r-- ? fn.r++ : fn()));
/******/ 		}
/******/ 	}
/******/ 	var wrapDeps = (deps) => (deps.map((dep) => {
/******/ 		if(dep !== null && typeof dep === "object") {
/******/ 			if(dep[webpackQueues]) return dep;
/******/ 			if(dep.then) {
/******/ 				var queue = [];
/******/ 				queue.d = 0;
/******/ 				dep.then((r) => {
/******/ 					obj[webpackExports] = r;
/******/ 					resolveQueue(queue);
/******/ 				}, (e) => {
/******/ 					obj[webpackError] = e;
/******/ 					resolveQueue(queue);
/******/ 				});
/******/ 				var obj = {};
/******/ 				obj[webpackQueues] = (fn) => (fn(queue));
/******/ 				return obj;
/******/ 			}
/******/ 		}
/******/ 		var ret = {};
/******/ 		ret[webpackQueues] = x => {};
/******/ 		ret[webpackExports] = dep;
/******/ 		return ret;
/******/ 	}));
/******/ 	__nccwpck_require__.a = (module, body, hasAwait) => {
/******/ 		var queue;
/******/ 		hasAwait && ((queue = []).d = -1);
/******/ 		var depQueues = new Set();
/******/ 		var exports = module.exports;
/******/ 		var currentDeps;
/******/ 		var outerResolve;
/******/ 		var reject;
/******/ 		var promise = new Promise((resolve, rej) => {
/******/ 			reject = rej;
/******/ 			outerResolve = resolve;
/******/ 		});
/******/ 		promise[webpackExports] = exports;
/******/ 		promise[webpackQueues] = (fn) => (queue && fn(queue), depQueues.forEach(fn), promise["catch"](x => {}));
/******/ 		module.exports = promise;
/******/ 		body((deps) => {
/******/ 			currentDeps = wrapDeps(deps);
/******/ 			var fn;
/******/ 			var getResult = () => (currentDeps.map((d) => {
/******/ 				if(d[webpackError]) throw d[webpackError];
/******/ 				return d[webpackExports];
/******/ 			}))
/******/ 			var promise = new Promise((resolve) => {
/******/ 				fn = () => (resolve(getResult));
/******/ 				fn.r = 0;
/******/ 				var fnQueue = (q) => (q !== queue && !depQueues.has(q) && (depQueues.add(q), q && !q.d && (fn.r++, q.push(fn))));
/******/ 				currentDeps.map((dep) => (dep[webpackQueues](fnQueue)));
/******/ 			});
/******/ 			return fn.r ? promise : getResult();
/******/ 		}, (err) => ((err ? reject(promise[webpackError] = err) : outerResolve(exports)), resolveQueue(queue)));
/******/ 		queue && queue.d < 0 && (queue.d = 0);
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/create fake namespace object */
/******/ (() => {
/******/ 	var getProto = Object.getPrototypeOf ? (obj) => (Object.getPrototypeOf(obj)) : (obj) => (obj.__proto__);
/******/ 	var leafPrototypes;
/******/ 	// create a fake namespace object
/******/ 	// mode & 1: value is a module id, require it
/******/ 	// mode & 2: merge all properties of value into the ns
/******/ 	// mode & 4: return value when already ns object
/******/ 	// mode & 16: return value when it's Promise-like
/******/ 	// mode & 8|1: behave like require
/******/ 	__nccwpck_require__.t = function(value, mode) {
/******/ 		if(mode & 1) value = this(value);
/******/ 		if(mode & 8) return value;
/******/ 		if(typeof value === 'object' && value) {
/******/ 			if((mode & 4) && value.__esModule) return value;
/******/ 			if((mode & 16) && typeof value.then === 'function') return value;
/******/ 		}
/******/ 		var ns = Object.create(null);
/******/ 		__nccwpck_require__.r(ns);
/******/ 		var def = {};
/******/ 		leafPrototypes = leafPrototypes || [null, getProto({}), getProto([]), getProto(getProto)];
/******/ 		for(var current = mode & 2 && value; typeof current == 'object' && !~leafPrototypes.indexOf(current); current = getProto(current)) {
/******/ 			Object.getOwnPropertyNames(current).forEach((key) => (def[key] = () => (value[key])));
/******/ 		}
/******/ 		def['default'] = () => (value);
/******/ 		__nccwpck_require__.d(ns, def);
/******/ 		return ns;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/ensure chunk */
/******/ (() => {
/******/ 	__nccwpck_require__.f = {};
/******/ 	// This file contains only the entry chunk.
/******/ 	// The chunk loading function for additional chunks
/******/ 	__nccwpck_require__.e = (chunkId) => {
/******/ 		return Promise.all(Object.keys(__nccwpck_require__.f).reduce((promises, key) => {
/******/ 			__nccwpck_require__.f[key](chunkId, promises);
/******/ 			return promises;
/******/ 		}, []));
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/get javascript chunk filename */
/******/ (() => {
/******/ 	// This function allow to reference async chunks
/******/ 	__nccwpck_require__.u = (chunkId) => {
/******/ 		// return url for filenames based on template
/******/ 		return "" + chunkId + ".index.js";
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/******/ /* webpack/runtime/make namespace object */
/******/ (() => {
/******/ 	// define __esModule on exports
/******/ 	__nccwpck_require__.r = (exports) => {
/******/ 		if(typeof Symbol !== 'undefined' && Symbol.toStringTag) {
/******/ 			Object.defineProperty(exports, Symbol.toStringTag, { value: 'Module' });
/******/ 		}
/******/ 		Object.defineProperty(exports, '__esModule', { value: true });
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/import chunk loading */
/******/ (() => {
/******/ 	// no baseURI
/******/ 	
/******/ 	// object to store loaded and loading chunks
/******/ 	// undefined = chunk not loaded, null = chunk preloaded/prefetched
/******/ 	// [resolve, Promise] = chunk loading, 0 = chunk loaded
/******/ 	var installedChunks = {
/******/ 		792: 0
/******/ 	};
/******/ 	
/******/ 	var installChunk = (data) => {
/******/ 		var {ids, modules, runtime} = data;
/******/ 		// add "modules" to the modules object,
/******/ 		// then flag all "ids" as loaded and fire callback
/******/ 		var moduleId, chunkId, i = 0;
/******/ 		for(moduleId in modules) {
/******/ 			if(__nccwpck_require__.o(modules, moduleId)) {
/******/ 				__nccwpck_require__.m[moduleId] = modules[moduleId];
/******/ 			}
/******/ 		}
/******/ 		if(runtime) runtime(__nccwpck_require__);
/******/ 		for(;i < ids.length; i++) {
/******/ 			chunkId = ids[i];
/******/ 			if(__nccwpck_require__.o(installedChunks, chunkId) && installedChunks[chunkId]) {
/******/ 				installedChunks[chunkId][0]();
/******/ 			}
/******/ 			installedChunks[ids[i]] = 0;
/******/ 		}
/******/ 	
/******/ 	}
/******/ 	
/******/ 	__nccwpck_require__.f.j = (chunkId, promises) => {
/******/ 			// import() chunk loading for javascript
/******/ 			var installedChunkData = __nccwpck_require__.o(installedChunks, chunkId) ? installedChunks[chunkId] : undefined;
/******/ 			if(installedChunkData !== 0) { // 0 means "already installed".
/******/ 	
/******/ 				// a Promise means "currently loading".
/******/ 				if(installedChunkData) {
/******/ 					promises.push(installedChunkData[1]);
/******/ 				} else {
/******/ 					if(true) { // all chunks have JS
/******/ 						// setup Promise in chunk cache
/******/ 						var promise = import("./" + __nccwpck_require__.u(chunkId)).then(installChunk, (e) => {
/******/ 							if(installedChunks[chunkId] !== 0) installedChunks[chunkId] = undefined;
/******/ 							throw e;
/******/ 						});
/******/ 						var promise = Promise.race([promise, new Promise((resolve) => (installedChunkData = installedChunks[chunkId] = [resolve]))])
/******/ 						promises.push(installedChunkData[1] = promise);
/******/ 					}
/******/ 				}
/******/ 			}
/******/ 	};
/******/ 	
/******/ 	// no prefetching
/******/ 	
/******/ 	// no preloaded
/******/ 	
/******/ 	// no external install chunk
/******/ 	
/******/ 	// no on chunks loaded
/******/ })();
/******/ 
/************************************************************************/
/******/ 
/******/ // startup
/******/ // Load entry module and return exports
/******/ // This entry module used 'module' so it can't be inlined
/******/ var __webpack_exports__ = __nccwpck_require__(1730);
/******/ __webpack_exports__ = await __webpack_exports__;
/******/ 
