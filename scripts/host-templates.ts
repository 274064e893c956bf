/**
 * Copies the templates of Floe's pools (FLOE_POOLS_FILE, else the demo pools) into the storage
 * pool of each libvirt host of FLOE_HOSTS_FILE, or of the hosts named on the command line, as
 * the volumes the libvirt driver looks for (`<folder>-<file>`: demo/base.qcow2 becomes
 * demo-base.qcow2). A volume already there is kept. Placement only chooses hosts that have
 * every volume of a pool's template.
 *
 *   FLOE_HOSTS_FILE=/etc/floe/hosts.json npm run --silent host-templates -- [HOST...]
 */
import { loadConfig } from '../server/config';
import { loadPoolFile } from '../server/broker/pool-file';
import { demoPools, templateOf } from '../server/broker/pools';
import { loadHostsFile } from '../server/hypervisor/libvirt/hosts';
import { LibvirtHypervisor, templateVolumes } from '../server/hypervisor/libvirt/libvirt-hypervisor';

const config = loadConfig();
if (!config.hostsFile) {
  console.error('Set FLOE_HOSTS_FILE to the hosts file (see README: "Desktops on libvirt hosts").');
  process.exit(2);
}
const hosts = loadHostsFile(config.hostsFile);
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !hosts.some((host) => host.name === name));
if (unknown.length) {
  console.error(`No such host in ${config.hostsFile}: ${unknown.join(', ')}`);
  process.exit(2);
}
const pools = config.poolsFile ? loadPoolFile(config.poolsFile) : demoPools;
const driver = new LibvirtHypervisor({ hosts, owner: config.libvirtOwner });
let failed = false;
for (const host of hosts.filter((h) => wanted.length === 0 || wanted.includes(h.name))) {
  for (const pool of pools) {
    const template = templateOf(pool, config.imageDir);
    try {
      await driver.installTemplate(host.name, template);
      console.log(`${host.name}: template of pool ${pool.name} present (${Object.values(templateVolumes(template)).join(', ')})`);
    } catch (error) {
      failed = true;
      console.error(`${host.name}: could not copy the template of pool ${pool.name}: ${(error as Error).message}`);
    }
  }
}
driver.close();
process.exit(failed ? 1 : 0);
