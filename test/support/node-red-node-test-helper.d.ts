/** The parts of node-red-node-test-helper 0.3 these tests use (the package ships no types). */
declare module 'node-red-node-test-helper' {
  type Register = (RED: any) => void;

  /** A node of the running flow, with the test-only `receive()`. */
  export interface TestNode {
    id: string;
    receive(msg: object): void;
    on(event: string, listener: (...args: any[]) => void): unknown;
  }

  interface NodeTestHelper {
    init(runtimePath?: string, userSettings?: object): void;
    settings(userSettings?: object): object;
    startServer(cb?: (err?: Error) => void): Promise<void>;
    stopServer(cb?: (err?: Error) => void): Promise<void>;
    load(nodes: Register | Register[], flow: object[], credentials?: object): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): TestNode | null;
  }

  const helper: NodeTestHelper;
  export default helper;
}
