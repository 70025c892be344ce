/** The parts of node-red-node-test-helper 0.3 these tests use (the package ships no types). */
declare module 'node-red-node-test-helper' {
  import type { Node } from 'node-red';

  type Register = (RED: any) => void;

  interface NodeTestHelper {
    init(runtimePath?: string, userSettings?: object): void;
    settings(userSettings?: object): object;
    startServer(cb?: (err?: Error) => void): Promise<void>;
    stopServer(cb?: (err?: Error) => void): Promise<void>;
    load(nodes: Register | Register[], flow: object[], credentials?: object): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): Node & { receive(msg: object): void };
  }

  const helper: NodeTestHelper;
  export default helper;
}
