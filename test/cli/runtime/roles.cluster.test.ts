/**
 * The cluster role's settings (PICAM_ROLE=cluster) and the flow it runs: the cloud flow with
 * no embedded broker, device traffic from RabbitMQ's queues (amqp-ingest), PostgreSQL required.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { brokerModeFor, selectBroker } from '../../../cli/flows/broker-choice';
import { checkFlow, type FlowNode } from '../../../cli/flows/flow-file';
import { settingsFor } from '../../../cli/runtime/roles';

const CLUSTER = {
  PICAM_ROLE: 'cluster',
  PICAM_CREDENTIAL_SECRET: 'secret',
  PICAM_ADMIN_USER: 'admin',
  PICAM_ADMIN_PASSWORD_HASH: '$2b$08$hash',
  PICAM_API_USER: 'viewer',
  PICAM_API_PASSWORD_HASH: '$2b$08$hash2',
  PICAM_AMQP_URLS: 'amqp://rabbit-1:5672/picam, amqp://rabbit-2:5672/picam',
  PICAM_AMQP_USERNAME: 'runtime',
  PICAM_AMQP_PASSWORD: 'amqp-secret-pw',
  PICAM_DB_URL: 'postgres://picam:db-secret-pw@db:5432/picam',
};

const cloudFlow = (): FlowNode[] =>
  JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'flows', 'cloud.json'), 'utf8')) as FlowNode[];
const secretsIn = (problems: string[]) => problems.filter((p) => /secret-pw/.test(p));

describe('the cluster role', () => {
  it('starts with RabbitMQ and PostgreSQL named; no MQTT login needed; the API and editor behind logins as in the cloud role', () => {
    const r = settingsFor(CLUSTER);
    assert.deepEqual(r.problems, []);
    assert.equal(r.role, 'cluster');
    assert.equal(r.flowEnv.PICAM_MQTT_BROKER, 'amqp');
    assert.equal(r.flowEnv.PICAM_AMQP_URLS, CLUSTER.PICAM_AMQP_URLS);
    assert.equal(r.flowEnv.PICAM_AMQP_USERNAME, 'runtime');
    assert.equal(r.flowEnv.PICAM_DB_URL, CLUSTER.PICAM_DB_URL);
    assert.ok(r.node.adminAuth, 'the editor has a login');
    assert.deepEqual(r.node.httpNodeAuth, { user: 'viewer', pass: '$2b$08$hash2' });
    assert.equal(r.internalPort, 1881, 'the MediaMTX hook listener, as in the cloud role');
    assert.match(String(r.node.userDir), /data\/cluster$/);
  });

  it('refuses to start without PICAM_DB_URL, with one line saying why', () => {
    const r = settingsFor({ ...CLUSTER, PICAM_DB_URL: '' });
    assert.equal(r.problems.length, 1, r.problems.join('\n'));
    assert.match(r.problems[0]!, /^PICAM_DB_URL is required for the cluster role: /);
  });

  it('refuses a PICAM_DB_URL that is not a postgres:// URL, without repeating it', () => {
    const notUrl = settingsFor({ ...CLUSTER, PICAM_DB_URL: 'db-secret-pw at db' });
    assert.equal(notUrl.problems.length, 1, notUrl.problems.join('\n'));
    assert.match(notUrl.problems[0]!, /PICAM_DB_URL is not a URL/);
    const mysql = settingsFor({ ...CLUSTER, PICAM_DB_URL: 'mysql://picam:db-secret-pw@db/picam' });
    assert.match(mysql.problems.join('\n'), /PICAM_DB_URL must be a postgres:\/\/ URL/);
    assert.deepEqual(secretsIn([...notUrl.problems, ...mysql.problems]), []);
  });

  it('refuses to start without RabbitMQ or its login, or with a URL amqp-ingest could not use', () => {
    const none = settingsFor({ ...CLUSTER, PICAM_AMQP_URLS: '', PICAM_AMQP_USERNAME: '', PICAM_AMQP_PASSWORD: '' });
    assert.deepEqual(
      none.problems.map((p) => p.split(':')[0]),
      [
        'PICAM_AMQP_URLS is required for the cluster role',
        'PICAM_AMQP_USERNAME is required for the cluster role',
        'PICAM_AMQP_PASSWORD is required for the cluster role',
      ],
    );
    const http = settingsFor({ ...CLUSTER, PICAM_AMQP_URLS: 'http://rabbit-1:15672' });
    assert.deepEqual(http.problems, ['PICAM_AMQP_URLS: broker URL must start with amqp:// or amqps:// (got http://)']);
    const loginInUrl = settingsFor({ ...CLUSTER, PICAM_AMQP_URLS: 'amqp://runtime:amqp-secret-pw@rabbit-1:5672/picam' });
    assert.equal(loginInUrl.problems.length, 1);
    assert.match(loginInUrl.problems[0]!, /put the login in the node's username and password/);
    assert.deepEqual(secretsIn(loginInUrl.problems), [], 'the password in the URL is not repeated');
  });

  it('takes device traffic from RabbitMQ only: PICAM_MQTT_BROKER cannot bring the embedded broker back', () => {
    assert.match(
      settingsFor({ ...CLUSTER, PICAM_MQTT_BROKER: 'embedded' }).problems.join('\n'),
      /cluster role takes device traffic from RabbitMQ only/,
    );
    assert.equal(brokerModeFor('cluster', undefined), 'amqp');
    assert.equal(brokerModeFor('cloud', undefined), 'embedded');
    assert.throws(() => brokerModeFor('cloud', 'amqp'), /PICAM_MQTT_BROKER must be embedded or external/);
  });

  it('runs the cloud flow without the embedded broker, with amqp-ingest (its login as credentials) as the one device input', () => {
    const flow = selectBroker(cloudFlow(), 'amqp');
    assert.deepEqual(checkFlow(flow).problems, []);
    assert.equal(flow.filter((n) => n.type === 'picam-broker').length, 0, 'no embedded broker');
    const enabled = (type: string) => flow.filter((n) => n.type === type && !n.d);
    assert.equal(enabled('mqtt-ingest').length, 0, 'the MQTT input stays off: every message would be stored twice');
    const [amqp] = enabled('amqp-ingest');
    assert.ok(amqp, 'amqp-ingest is on');
    assert.equal(amqp.urls, '${PICAM_AMQP_URLS}');
    assert.deepEqual(amqp.credentials, { username: '${PICAM_AMQP_USERNAME}', password: '${PICAM_AMQP_PASSWORD}' });
    assert.deepEqual(amqp.wires, [['cloud.processor']]);
    const sender = flow.find((n) => n.type === 'command-sender')!;
    assert.equal(sender.amqp, amqp.id, 'commands go out through its connection');
  });

  it('leaves the cloud role as it was: the embedded broker on, amqp-ingest shipped disabled', () => {
    const flow = selectBroker(cloudFlow(), 'embedded');
    assert.equal(flow.filter((n) => n.type === 'picam-broker' && !n.d).length, 1);
    assert.equal(flow.find((n) => n.type === 'amqp-ingest')?.d, true);
    assert.equal(selectBroker(cloudFlow(), 'external').find((n) => n.type === 'amqp-ingest')?.d, true);
  });
});
