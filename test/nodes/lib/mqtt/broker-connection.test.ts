/** How our own MQTT clients (mqtt-ingest, command-sender, mqtt-outbox) read the broker's address from node properties. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brokerUrl, connectionOptions } from '../../../../nodes/lib/mqtt/broker-connection';

describe('broker connection', () => {
  it('builds the URL from host, port and TLS, brackets IPv6 and keeps a whole URL', () => {
    assert.equal(brokerUrl({ host: 'cloud.example', port: 1883, tls: false }), 'mqtt://cloud.example:1883');
    assert.equal(brokerUrl({ host: ' 10.0.0.5 ', port: 8883, tls: true }), 'mqtts://10.0.0.5:8883');
    assert.equal(brokerUrl({ host: '::1', port: 1883, tls: false }), 'mqtt://[::1]:1883');
    assert.equal(brokerUrl({ host: 'wss://cloud.example/mqtt', port: 1, tls: false }), 'wss://cloud.example/mqtt');
  });

  it('refuses what cannot be a broker, saying why', () => {
    assert.throws(() => brokerUrl({ host: '', port: 1883, tls: false }), /no broker: set the broker host or URL/);
    assert.throws(() => brokerUrl({ host: 'h', port: 70000, tls: false }), /port must be a TCP port number \(got "70000"\)/);
    assert.throws(() => brokerUrl({ host: 'h', port: NaN, tls: false }), /port must be a TCP port number/);
    assert.throws(
      () => brokerUrl({ host: 'http://h', port: 1883, tls: false }),
      /must start with mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ \(got http:\/\/\)/,
    );
  });

  it('reads TLS files only with TLS on, names a file it cannot read, and leaves an empty login out', () => {
    assert.deepEqual(connectionOptions({ host: 'h', port: 1, tls: false, caFile: '/nowhere/ca.pem', username: '', password: '' }), {
      username: undefined,
      password: undefined,
    });
    assert.throws(
      () => connectionOptions({ host: 'h', port: 1, tls: true, caFile: '/nowhere/ca.pem' }),
      /cannot read the CA file \/nowhere\/ca\.pem: ENOENT/,
    );
  });
});
