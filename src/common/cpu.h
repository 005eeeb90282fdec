// How many cores this process may run on.
#pragma once

namespace mailhook {

// The CPUs in the calling thread's affinity mask (taskset, a cgroup cpuset, systemd's
// CPUAffinity=), not every CPU of the machine: a daemon confined to one core runs one
// thread per pool instead of several that take turns on it. At least 1.
[[nodiscard]] unsigned usable_cores();

}  // namespace mailhook
