// The version the build was configured with (CMake's project version).
#pragma once

namespace mailhook::app {
extern const char* const version;
}
