// SIGTERM and SIGINT drain the node (as Kubernetes expects of a pod that is being stopped) and exit
// when the last client is gone, or after STOMPEDE_DRAIN_TIMEOUT_MS, whichever comes first. A second
// signal stops at once.
import type { Logger } from '@stompede/session';
import type { BrokerNode } from './node.js';

export function shutdownOnSignals(node: BrokerNode, logger: Logger): void {
  let draining = false;
  const onSignal = (signal: string): void => {
    if (draining) {
      logger.warn({ signal }, 'second signal: stopping now');
      void stop(node, logger);
      return;
    }
    draining = true;
    const { drainGraceMs, drainWindowMs, drainTimeoutMs } = node.config;
    logger.info({ signal, drainGraceMs, drainWindowMs, drainTimeoutMs, clients: node.hub.connections }, 'draining before exit');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(() => {
      logger.warn({ clients: node.hub.connections }, 'drain timeout: closing the remaining clients now');
      resolve();
    }, drainTimeoutMs)));
    Promise.race([node.control.shutdownDrain(), timedOut]).then(
      () => {
        clearTimeout(timer);
        void stop(node, logger);
      },
      (err: unknown) => {
        logger.error({ err }, 'drain failed');
        void stop(node, logger);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

async function stop(node: BrokerNode, logger: Logger): Promise<void> {
  try {
    await node.stop();
    logger.info({}, 'stopped');
    process.exit(0);
  } catch (err) {
    logger.error({ err }, 'shutdown failed');
    process.exit(1);
  }
}
