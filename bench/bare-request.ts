// The start-up baseline (startup.ts): a bare Node script that sends one request
// and does nothing else, spawned as the action is (the same spawner, Node and
// environment), to the endpoint the gate reads first when given a job:
// GET /v1/job/:job. Its own agent without keep-alive, so that it exits once answered.

import { request } from 'node:http'

const address = process.env.INPUT_ADDRESS ?? ''
const job = encodeURIComponent(process.env.INPUT_JOB ?? '')
request(`${address}/v1/job/${job}`, { agent: false }, (res) => res.resume()).end()
