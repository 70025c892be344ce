import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactText } from '../../../nodes/lib/redact';

describe('redactText: the login of a URL is never shown', () => {
  it('hides the login of camera and database URLs, keeping where they point', () => {
    assert.equal(redactText('postgres://picam:s3cret@db:5432/picam'), 'postgres://***@db:5432/picam');
    assert.equal(redactText('rtsp://admin:pw@192.168.1.20:554/h264 refused'), 'rtsp://***@192.168.1.20:554/h264 refused');
    assert.equal(redactText('postgres://db/picam'), 'postgres://db/picam', 'a URL without a login stays whole');
  });

  it('hides every URL of a line, and passwords with characters a URL parser refuses', () => {
    const line = 'main rtsp://a:b@cam1/live, sub rtsp://c:d@cam2/sub';
    assert.equal(redactText(line), 'main rtsp://***@cam1/live, sub rtsp://***@cam2/sub');
    for (const url of ['postgres://picam:pa/ss@db/picam', 'postgres://picam:p@ss@db/picam', 'postgres://picam:s3cret@[bad']) {
      assert.doesNotMatch(redactText(url), /pa\/ss|p@ss|s3cret/, url);
    }
  });
});
