// The inputs that reach Nomad: its address, the ACL token or the JWT login,
// namespace, region and TLS, parsed into the client's Config (nomad.ts,
// address.ts, login.ts, tls.ts). The first part of THE input spec (inputs.ts),
// in its order.

import { DEFAULT_ADDRESS } from '../nomad/config.js'
import type { InputSpec } from './spec.js'

export const NOMAD_INPUTS = [
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
    description:
      "Name of a Nomad JWT auth method (Nomad 1.5.4+): log in with the workflow's OIDC token (needs permissions: id-token: write) and send the token Nomad returns, masked. Not with token or NOMAD_TOKEN.",
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
    description:
      "With auth-method: the audience (aud) to request for the workflow's OIDC token; one of the auth method's BoundAudiences.",
    default: 'nomad',
    kind: 'text',
    parsedBy: 'login.ts',
  },
  {
    name: 'login-token',
    description:
      "With auth-method: a JWT to log in with instead of the workflow's OIDC token (one from another identity provider); masked.",
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
    description:
      'Nomad namespace, sent as ?namespace= on every request; without one Nomad uses "default".',
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
    description:
      "CA bundle to verify Nomad's certificate: PEM text, a file path, or a directory of PEM files.",
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
] as const satisfies readonly InputSpec[]
