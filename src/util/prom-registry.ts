/**
 * The Prometheus side shared by the agent's and the verifier's endpoints: prom-client imported only
 * when an endpoint is asked for (the CLI's start-up never pays for it), a private registry (not the
 * global one: tests and embedders stay independent) with the process metrics under a prefix, and
 * metrics made on that registry. What each actor exports stays in its own metrics.ts.
 */

type Prom = typeof import('prom-client')

export interface PromRegistry {
  prom: Prom
  registry: import('prom-client').Registry
  /** A counter; with `zeroed`, every listed value of its one label is exported at 0 before the first event (so rate() sees it). */
  counter(name: string, help: string, zeroed?: {label: string; values: readonly string[]}): import('prom-client').Counter
  gauge(name: string, help: string, labelNames?: string[]): import('prom-client').Gauge
}

export async function promRegistry(defaultMetricsPrefix: string): Promise<PromRegistry> {
  const prom = await import('prom-client')
  const registry = new prom.Registry()
  prom.collectDefaultMetrics({register: registry, prefix: defaultMetricsPrefix})
  return {
    prom,
    registry,
    counter(name, help, zeroed) {
      const counter = new prom.Counter({name, help, labelNames: zeroed ? [zeroed.label] : [], registers: [registry]})
      for (const value of zeroed?.values ?? []) counter.inc({[zeroed!.label]: value}, 0)
      return counter
    },
    gauge: (name, help, labelNames = []) => new prom.Gauge({name, help, labelNames, registers: [registry]}),
  }
}
