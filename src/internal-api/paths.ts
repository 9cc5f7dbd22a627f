import { INSTALL_ROOT } from '../core/install-root.ts';

/** Sandbox-side tools: the host directory and where every sandbox sees it (on its PATH). */
export const SANDBOX_BIN_DIR: string = `${INSTALL_ROOT}sandbox-bin`;
export const SANDBOX_BIN_MOUNT = '/opt/km/bin';
export const KM_MAIL_SCRIPT: string = `${SANDBOX_BIN_DIR}/km-mail`;

/** `sudo` for privileged sandboxes (sandbox-sudo/), mounted only into those, first on PATH. */
export const SANDBOX_SUDO_DIR: string = `${INSTALL_ROOT}sandbox-sudo`;
export const SANDBOX_SUDO_MOUNT = '/opt/km/sudo';
