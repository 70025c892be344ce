import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatewaySettings, type HivecamGatewayProps } from '../../../nodes/hivecam-gateway/gateway-settings';

const props = (over: Partial<HivecamGatewayProps> = {}): HivecamGatewayProps => ({
  port: '',
  bind: '',
  https: '',
  tlsCert: '',
  tlsKey: '',
  publicUrl: '',
  prefix: '',
  timeServer: '',
  brokerHost: '',
  brokerPort: '',
  certDir: '',
  uploadDir: '',
  maxUploadMB: '',
  uploadIdleS: '',
  uploadMaxMinutes: '',
  retainDays: '',
  ffmpeg: '',
  ...over,
});

describe('hivecam-gateway settings', () => {
  it('fills every empty property with its default, folders under the user directory', () => {
    const s = gatewaySettings(props(), '/data');
    assert.equal(s.certDir, '/data/certs');
    assert.equal(s.uploadsRoot, '/data/uploads');
    assert.equal(s.tmpDir, '/data/uploads/.incoming');
    assert.equal(s.port, 8080);
    assert.equal(s.bind, '0.0.0.0');
    assert.equal(s.https, false);
    assert.equal(s.config.prefix, 'prod');
    assert.equal(s.publicUrlSet, false);
    assert.equal(s.ffmpeg, 'ffmpeg');
  });

  it('takes `${ENV}` strings: HTTPS on, a relative upload folder, a trailing slash off the prefix', () => {
    const s = gatewaySettings(props({ https: 'true', uploadDir: 'up', prefix: 'site/', port: '8443', uploadIdleS: '5' }), '/data');
    assert.equal(s.https, true);
    assert.equal(s.transport.https, true);
    assert.equal(s.uploadsRoot, '/data/up');
    assert.equal(s.config.prefix, 'site');
    assert.equal(s.port, 8443);
    assert.equal(s.uploadIdleMs, 5000);
  });

  it('refuses an https value that is no boolean, naming it', () => {
    assert.throws(() => gatewaySettings(props({ https: 'maybe' }), '/data'), /https/);
  });
});
