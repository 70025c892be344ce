import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseBrokerUrls, tlsOptions } from '../../../nodes/amqp-ingest/brokers';

const login = { username: 'picam-cloud', password: 'not-in-the-url' };

it('reads one broker node per URL, separated by commas, spaces or new lines, with the login from the credentials', () => {
  const nodes = parseBrokerUrls('amqp://broker-1:5672/picam, amqp://broker-2/picam\namqps://[::1]/', login);
  assert.deepEqual(
    nodes.map((n) => n.label),
    ['broker-1:5672/picam', 'broker-2:5672/picam', '[::1]:5671//'],
  );
  assert.deepEqual(nodes[0]!.connect, {
    protocol: 'amqp',
    hostname: 'broker-1',
    port: 5672,
    vhost: 'picam',
    username: 'picam-cloud',
    password: 'not-in-the-url',
    heartbeat: 10,
  });
  assert.equal(nodes[2]!.connect.hostname, '::1');
  // What status and logs show never holds the password.
  assert.ok(nodes.every((n) => !n.label.includes(login.password)));
});

it('refuses a login in a URL, another scheme, a bad URL or none, with a message that says what to write', () => {
  assert.throws(() => parseBrokerUrls('amqp://user:secret@broker-1/picam', login), /login in the node's username and password/);
  assert.throws(() => parseBrokerUrls('mqtt://broker-1:1883', login), /amqp:\/\/ or amqps:\/\//);
  assert.throws(() => parseBrokerUrls('broker-1:5672', login), /amqp:\/\/ or amqps:\/\//);
  assert.throws(() => parseBrokerUrls('amqp://', login), /not a broker URL/);
  assert.throws(() => parseBrokerUrls('  ', login), /no broker/);
});

it('names a CA file it cannot read', () => {
  assert.deepEqual(tlsOptions(''), {});
  assert.throws(() => tlsOptions('/nonexistent/ca.crt'), /cannot read the CA file \/nonexistent\/ca\.crt: ENOENT/);
});
