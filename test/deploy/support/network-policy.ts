// Which connections a set of NetworkPolicies allows, evaluated the way the Kubernetes API defines it
// (networking.k8s.io/v1): a pod selected by no policy of a direction is open in that direction; a pod
// selected by one or more is open only to what some rule of them admits. Peers are podSelector
// (same namespace as the policy), namespaceSelector, or both; ports by number or container-port name.
import type { Manifest } from './kustomize';

/** A pod as the policies see it. */
export interface PodView {
  name: string;
  namespace: string;
  namespaceLabels: Record<string, string>;
  labels: Record<string, string>;
  /** Container ports by name. */
  ports: Record<string, number>;
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: unknown;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: Array<{ port?: number | string; protocol?: string }>;
}
interface PolicySpec {
  podSelector: Selector;
  policyTypes?: string[];
  ingress?: Rule[];
  egress?: Rule[];
}

/** Whether `labels` satisfy a label selector ({} selects everything). */
export function selects(selector: Selector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        return value !== undefined && (e.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(e.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        throw new Error(`unknown selector operator ${e.operator}`);
    }
  });
  return byLabels && byExpressions;
}

function peerMatches(peer: Peer, policyNamespace: string, pod: PodView): boolean {
  if (peer.ipBlock) return false; // pod-to-pod traffic here; ipBlock is for cluster-external peers
  const nsOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, pod.namespaceLabels)
    : pod.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, pod.labels) : true;
  return nsOk && podOk;
}

function portMatches(rule: Rule, destination: PodView, port: number): boolean {
  if (!rule.ports || rule.ports.length === 0) return true;
  return rule.ports.some((p) =>
    p.port === undefined
      ? true
      : typeof p.port === 'number'
        ? p.port === port
        : destination.ports[p.port] === port,
  );
}

/** Whether `from` may open a TCP connection to `to` on `port` under `policies`. */
export function allowed(policies: Manifest[], from: PodView, to: PodView, port: number): boolean {
  const direction = (dir: 'Ingress' | 'Egress', subject: PodView, peer: PodView) => {
    const applying = policies.filter((p) => {
      const spec = p.spec as PolicySpec;
      const types = spec.policyTypes ?? ['Ingress', ...(spec.egress ? ['Egress'] : [])];
      return (
        (p.metadata.namespace ?? 'default') === subject.namespace &&
        types.includes(dir) &&
        selects(spec.podSelector, subject.labels)
      );
    });
    if (applying.length === 0) return true;
    return applying.some((p) => {
      const spec = p.spec as PolicySpec;
      const rules = (dir === 'Ingress' ? spec.ingress : spec.egress) ?? [];
      const ns = p.metadata.namespace ?? 'default';
      return rules.some((r) => {
        const peers = dir === 'Ingress' ? r.from : r.to;
        const peerOk = !peers || peers.length === 0 || peers.some((x) => peerMatches(x, ns, peer));
        return peerOk && portMatches(r, to, port);
      });
    });
  };
  return direction('Egress', from, to) && direction('Ingress', to, from);
}
