// The part of autocannon 9 (no bundled types, no @types package installed) that the harness uses.
declare module 'autocannon' {
  export interface AutocannonRequest {
    method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Called as each request is built; what it returns is sent. */
    setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
  }
  interface AutocannonOptions {
    url: string;
    connections?: number;
    duration?: number;
    /** Stop after this many requests; duration is then ignored. */
    amount?: number;
    pipelining?: number;
    overallRate?: number;
    /** Passed to tls.connect for an https url (autocannon always sets rejectUnauthorized: false). */
    tlsOptions?: { cert?: string; key?: string };
    requests?: AutocannonRequest[];
    verifyBody?: (body: string) => boolean;
  }
  interface Histogram {
    p50: number;
    p90: number;
    p99: number;
    max: number;
    average: number;
    total: number;
  }
  interface AutocannonResult {
    duration: number;
    requests: Histogram;
    latency: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
  }
  export default function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
}
