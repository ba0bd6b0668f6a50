/**
 * The exact command that installs each program the harness runs, on Debian.
 *
 * FerretDB has no Debian package and `go install …/cmd/ferretdb@v1.24.2` builds
 * a binary that panics at start (its module lacks `build/version/version.txt`,
 * FerretDB#2982), so the hint points at our script, which builds it properly.
 */
export const INSTALL_HINTS = {
  postgres: 'apt-get install -y postgresql-15',
  'redis-server': 'apt-get install -y redis-server',
  zookeeper: 'apt-get install -y zookeeper',
  java: 'apt-get install -y default-jre-headless',
  setpriv: 'apt-get install -y util-linux',
  ferretdb: 'bash scripts/install-services.sh ferretdb',
} as const;

/** A program that has an entry in {@link INSTALL_HINTS}. */
export type InstallableBinary = keyof typeof INSTALL_HINTS;
