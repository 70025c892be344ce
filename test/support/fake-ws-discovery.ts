/**
 * A fake WS-Discovery responder on loopback (UDP unicast instead of the
 * multicast group, which a test cannot rely on): it answers each Probe with
 * ProbeMatches as ONVIF cameras do (RelatesTo = the probe's MessageID, XAddrs,
 * onvif:// scopes), and can be told to send garbage, an oversized reply, an
 * entity-laden reply or another probe's answer first.
 */
import dgram from 'node:dgram';
import { texts } from '../../nodes/ipcam/onvif';

export interface FakeDevice {
  uuid: string;
  xaddr: string;
  name: string;
  hardware: string;
}

export type Junk = 'garbage' | 'oversized' | 'entity' | 'other-probe';

export class FakeDiscoveryResponder {
  readonly probes: string[] = [];
  private readonly socket = dgram.createSocket('udp4');

  constructor(
    private readonly devices: FakeDevice[],
    private readonly junk: Junk[] = [],
  ) {}

  /**
   * Listens on loopback (unicast, a port of its own), or with `multicast` as a camera does: on
   * WS-Discovery's port, a member of its group on the loopback interface (a network namespace
   * whose loopback carries multicast: test/nodes/ipcam/discovery.multicast.test.ts).
   */
  async start(multicast = false): Promise<void> {
    this.socket.on('message', (msg, rinfo) => this.answer(msg.toString(), rinfo));
    if (!multicast) return new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => this.socket.bind(3702, r));
    this.socket.addMembership('239.255.255.250', '127.0.0.1');
  }

  get destination(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.socket.address().port };
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }

  private answer(xml: string, to: dgram.RemoteInfo): void {
    const messageId = texts(xml, 'MessageID')[0];
    if (!messageId || !/<(?:\w+:)?Probe\b/.test(xml)) return;
    this.probes.push(messageId);
    const send = (text: string | Buffer) => this.socket.send(text, to.port, to.address);
    for (const j of this.junk) {
      if (j === 'garbage') send(Buffer.from([0xff, 0x00, 0x3c, 0x3e, 0x12, 0x80]));
      if (j === 'oversized')
        send(
          matches(
            messageId,
            this.devices.map((d) => ({ ...d, uuid: `big-${d.uuid}`, name: 'x'.repeat(40_000) })),
          ),
        );
      if (j === 'entity')
        send(
          `<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa">]>${matches(messageId, [{ uuid: 'entity', xaddr: 'http://10.9.9.9/onvif/device_service', name: '&a;', hardware: 'x' }])}`,
        );
      if (j === 'other-probe')
        send(
          matches('urn:uuid:someone-else', [
            { uuid: 'other', xaddr: 'http://10.8.8.8/onvif/device_service', name: 'other', hardware: 'x' },
          ]),
        );
    }
    send(matches(messageId, this.devices));
  }
}

function matches(relatesTo: string, devices: FakeDevice[]): string {
  const each = devices
    .map(
      (d) =>
        `<d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:${d.uuid}</a:Address></a:EndpointReference><d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/name/${encodeURIComponent(d.name)} onvif://www.onvif.org/hardware/${encodeURIComponent(d.hardware)} onvif://www.onvif.org/location/</d:Scopes><d:XAddrs>${d.xaddr}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch>`,
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><SOAP-ENV:Header><a:MessageID>uuid:${Math.random().toString(16).slice(2)}</a:MessageID><a:RelatesTo>${relatesTo}</a:RelatesTo><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action></SOAP-ENV:Header><SOAP-ENV:Body><d:ProbeMatches>${each}</d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>`;
}
