// The container image (docs/image.md) end to end: the OCI archive that scripts/image wrote
// for the binary under test (ctest's image_build) is loaded into a buildah storage of the
// test's own and run as a container would run it: its own entrypoint and command, its
// user, the image's directories mounted read-only and the state volume writable, host
// network, the shared broker. SendGrid's genuine signed request goes in and is read back
// from Kafka; SIGTERM, as a container runtime sends it, must drain and exit 0.
//
// Skipped (with the reason) only where buildah is missing or cannot start.
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "mailhook/v1/email_event.pb.h"
#include "support/daemon.h"
#include "support/kafka_reader.h"
#include "support/sendgrid_events.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int image_uid = 65532;
// The drain bound the deployment files give the daemon (TimeoutStopSec in the systemd
// unit, docs/image.md for orchestrators).
constexpr auto drain_bound = 60s;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The processes below `ancestor` whose command is `comm` (chroot isolation shares the
// host's PID namespace, so the container's process is visible here).
std::vector<pid_t> descendants_named(pid_t ancestor, const std::string& comm) {
  std::map<pid_t, pid_t> parent;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
    const auto stat = read_text(entry.path() / "stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    parent[std::stoi(name)] = ppid;
  }
  std::vector<pid_t> found;
  for (const auto& [pid, ppid] : parent) {
    for (pid_t p = ppid; p > 1 && parent.contains(p); p = parent[p]) {
      if (p != ancestor) continue;
      if (read_text(fs::path("/proc") / std::to_string(pid) / "comm") == comm + "\n")
        found.push_back(pid);
      break;
    }
  }
  return found;
}

struct mount {
  std::string source;   // the directory mounted, as the host sees it
  std::string options;  // "ro,..." or "rw,..."
};

// Every mount a process sees, by mount point.
std::map<std::string, mount> mounts_of(pid_t pid) {
  std::map<std::string, mount> mounts;
  std::istringstream lines(read_text(fs::path("/proc") / std::to_string(pid) / "mountinfo"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point, options;
    fields >> id >> parent >> device >> root >> point >> options;
    mounts[point] = {root, options};
  }
  return mounts;
}

bool read_only(const std::string& options) {
  return options == "ro" || options.starts_with("ro,");
}

// One status line of /proc/<pid>/status, e.g. "Uid:\t65532\t65532\t65532\t65532".
std::string status_line(pid_t pid, const std::string& key) {
  std::istringstream lines(read_text(fs::path("/proc") / std::to_string(pid) / "status"));
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(key + ":")) return line.substr(key.size() + 1);
  }
  return "";
}

std::vector<std::string> strings_of(simdjson::simdjson_result<simdjson::dom::element> e) {
  std::vector<std::string> out;
  simdjson::dom::array array;
  if (e.get(array) != simdjson::SUCCESS) return out;
  for (auto item : array) {
    std::string_view s;
    if (item.get(s) == simdjson::SUCCESS) out.emplace_back(s);
  }
  return out;
}

// buildah with a storage of this test's own under `dir`: nothing outside it is touched.
class buildah {
 public:
  explicit buildah(const fs::path& dir) {
    // process() runs argv[0] as a path: find buildah on PATH.
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    for (std::string d; std::getline(dirs, d, ':');) {
      const auto exe = fs::path(d.empty() ? "." : d) / "buildah";
      if (::access(exe.c_str(), X_OK) != 0) continue;
      prefix_ = {exe.string(), "--root", (dir / "storage").string(), "--runroot"};
      prefix_.insert(prefix_.end(), {(dir / "run").string(), "--storage-driver", "vfs"});
      return;
    }
  }
  [[nodiscard]] bool installed() const { return !prefix_.empty(); }
  [[nodiscard]] std::vector<std::string> argv(std::vector<std::string> args) const {
    auto all = prefix_;
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
  run_result operator()(std::vector<std::string> args) const { return run(argv(std::move(args))); }

 private:
  std::vector<std::string> prefix_;
};

class image_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!store_.installed()) GTEST_SKIP() << "buildah is not installed: the image is not tested";
    if (auto info = store_({"info"}); info.status != 0)
      GTEST_SKIP() << "buildah cannot run here, the image is not tested:\n" << info.output;
    ASSERT_TRUE(fs::exists(MAILHOOK_IMAGE_ARCHIVE))
        << MAILHOOK_IMAGE_ARCHIVE << " is missing: the image_build test (scripts/image) makes it";
    auto from =
        store_({"from", "--quiet", "--name", "image-test-" + dir_.path().filename().string(),
                std::string("oci-archive:") + MAILHOOK_IMAGE_ARCHIVE});
    ASSERT_EQ(from.status, 0) << from.output;
    container_ = from.output.substr(0, from.output.find('\n'));
    auto mount = store_({"mount", container_});
    ASSERT_EQ(mount.status, 0) << mount.output;
    rootfs_ = mount.output.substr(0, mount.output.find('\n'));
    auto inspect = store_({"inspect", "--type", "container", container_});
    ASSERT_EQ(inspect.status, 0) << inspect.output;
    ASSERT_EQ(parser_.parse(inspect.output).get(inspect_), simdjson::SUCCESS) << inspect.output;
    ASSERT_EQ(inspect_.at_pointer("/OCIv1/config").get(config_), simdjson::SUCCESS);
  }

  void TearDown() override {
    if (!container_.empty()) (void)store_({"rm", container_});
  }

  [[nodiscard]] std::string config_text(const char* pointer) const {
    std::string_view s;
    return config_.at_pointer(pointer).get(s) == simdjson::SUCCESS ? std::string(s) : "";
  }

  temp_dir dir_;
  buildah store_{dir_.path()};
  std::string container_;
  fs::path rootfs_;
  simdjson::dom::parser parser_;
  simdjson::dom::element inspect_;
  simdjson::dom::element config_;
};

TEST_F(image_test, runs_the_binary_under_test_as_a_non_root_user_with_its_state_on_a_volume) {
  EXPECT_EQ(config_text("/User"), std::to_string(image_uid) + ":" + std::to_string(image_uid));
  EXPECT_EQ(strings_of(config_["Entrypoint"]), std::vector<std::string>{"/usr/local/bin/mailhook"});
  EXPECT_EQ(strings_of(config_["Cmd"]),
            (std::vector<std::string>{"serve", "--config", "/etc/mailhook/mailhook.toml"}));
  EXPECT_EQ(config_text("/WorkingDir"), "/var/lib/mailhook");
  EXPECT_EQ(config_text("/StopSignal"), "SIGTERM");
  EXPECT_EQ(config_.at_pointer("/Volumes/~1var~1lib~1mailhook").error(), simdjson::SUCCESS);
  EXPECT_EQ(config_.at_pointer("/ExposedPorts/8080~1tcp").error(), simdjson::SUCCESS);
  EXPECT_EQ(config_.at_pointer("/ExposedPorts/9464~1tcp").error(), simdjson::SUCCESS);

  auto version = run({mailhook_binary(), "version"});
  EXPECT_EQ("mailhook " + config_text("/Labels/org.opencontainers.image.version") + "\n",
            version.output);

  // Only the state directory belongs to the daemon's user; there is no shell to exec into.
  struct stat state {};
  ASSERT_EQ(::stat((rootfs_ / "var/lib/mailhook").c_str(), &state), 0);
  EXPECT_EQ(state.st_uid, static_cast<uid_t>(image_uid));
  EXPECT_FALSE(fs::exists(rootfs_ / "usr/bin/sh"));
  EXPECT_TRUE(fs::is_regular_file(rootfs_ / "etc/ssl/certs/ca-certificates.crt"));
  EXPECT_TRUE(fs::is_regular_file(rootfs_ / "usr/share/doc/mailhook/packages"));
  // The configuration it starts with passes the daemon's own check.
  auto check = run(
      {mailhook_binary(), "config", "check", (rootfs_ / "etc/mailhook/mailhook.toml").string()});
  EXPECT_EQ(check.status, 0) << check.output;
}

TEST_F(image_test, takes_sendgrids_signed_request_into_kafka_read_only_and_drains_on_sigterm) {
  const auto& genuine = sendgrid_genuine_request();
  const auto bootstrap = shared_kafka_bootstrap();
  const auto events_topic = unique_topic("image-events");
  const auto identity = "image-test-" + dir_.path().filename().string();

  // The image's own configuration with an environment overlay, as an orchestrator gives it.
  std::vector<std::string> env{
      "MAILHOOK_KAFKA__BOOTSTRAP_SERVERS=" + bootstrap,
      "MAILHOOK_KAFKA__HEALTH_INTERVAL=200ms",
      "MAILHOOK_ADMIN__LISTEN=127.0.0.1:0",
      "MAILHOOK_INGEST__LISTEN=127.0.0.1:0",
      "MAILHOOK_TOPICS__EVENTS__NAME=" + events_topic,
      "MAILHOOK_TOPICS__DLQ__NAME=" + unique_topic("image-dlq"),
      "MAILHOOK_POLICY__GROUP_ID=" + identity,
      "MAILHOOK_POLICY__TRANSACTIONAL_ID=" + identity,
      "MAILHOOK_SENDER__GROUP_ID=" + identity,
      "MAILHOOK_SENDER__TRANSACTIONAL_ID=" + identity,
      "MAILHOOK_SOURCES__SAMPLE__TENANT=acme",
      "MAILHOOK_SOURCES__SAMPLE__PUBLIC_KEYS=[\"" + genuine.public_key + "\"]",
      // SendGrid signed its test request in 2020.
      "MAILHOOK_SOURCES__SAMPLE__REPLAY_WINDOW=0",
  };
  std::vector<std::string> args{"run", "--isolation", "chroot", "--network", "host"};
  // buildah run has no --read-only: every directory of the image that holds files is
  // bind-mounted over itself read-only; what is left is root's and not writable by
  // others, checked below. The state directory is the volume buildah makes for the image's
  // VOLUME, as an engine does without -v. (buildah 1.28 lets that volume win over a -v
  // given next to --mount options, so the test does not give one.)
  // buildah makes its mount points on the first run, which it cannot do inside a
  // read-only /etc: they are made here in this container's root, as any runtime makes them.
  for (const char* d : {"dev", "proc", "sys", "run"}) fs::create_directories(rootfs_ / d);
  for (const char* f : {"etc/hosts", "etc/hostname", "etc/resolv.conf"}) {
    std::ofstream touch(rootfs_ / f, std::ios::app);
  }
  const std::vector<std::string> read_only_dirs{"/usr", "/etc", "/var", "/tmp"};
  for (const auto& d : read_only_dirs) {
    args.push_back("--mount");
    args.push_back("type=bind,src=" + (rootfs_ / d.substr(1)).string() + ",dst=" + d + ",ro");
  }
  for (const auto& e : env) {
    args.push_back("--env");
    args.push_back(e);
  }
  args.push_back(container_);
  args.push_back("--");
  for (const auto& a : strings_of(config_["Entrypoint"])) args.push_back(a);
  for (const auto& a : strings_of(config_["Cmd"])) args.push_back(a);
  process container(store_.argv(args));

  auto admin = container.wait_for_line(std::regex(R"(admin listener on [0-9.]+:(\d+))"), 60s);
  ASSERT_TRUE(admin) << container.output();
  auto webhook = container.wait_for_line(std::regex(R"(webhook listener on [0-9.]+:(\d+))"), 0s);
  ASSERT_TRUE(webhook) << container.output();
  const auto admin_port = static_cast<std::uint16_t>(std::stoi((*admin)[1]));
  const auto webhook_port = static_cast<std::uint16_t>(std::stoi((*webhook)[1]));

  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (http_get(admin_port, "/readyz").status != 200 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(http_get(admin_port, "/readyz").status, 200) << container.output();

  // The daemon as the container runs it: the image's user, no capabilities, the image's
  // directories read-only and only the volume writable.
  auto daemons = descendants_named(container.pid(), "mailhook");
  ASSERT_EQ(daemons.size(), 1u) << container.output();
  const pid_t daemon_pid = daemons[0];
  EXPECT_EQ(status_line(daemon_pid, "Uid"), "\t65532\t65532\t65532\t65532");
  EXPECT_EQ(status_line(daemon_pid, "CapEff"), "\t0000000000000000");
  auto mounts = mounts_of(daemon_pid);
  for (const auto& d : read_only_dirs) {
    ASSERT_TRUE(mounts.contains(d)) << d;
    EXPECT_TRUE(read_only(mounts[d].options)) << d << ": " << mounts[d].options;
  }
  ASSERT_TRUE(mounts.contains("/var/lib/mailhook"));
  EXPECT_FALSE(read_only(mounts["/var/lib/mailhook"].options));
  const fs::path volume = mounts["/var/lib/mailhook"].source;
  std::vector<fs::path> dirs{rootfs_};
  for (const auto& entry : fs::recursive_directory_iterator(rootfs_)) {
    if (entry.is_directory() && !entry.is_symlink()) dirs.push_back(entry.path());
  }
  for (const auto& d : dirs) {
    const auto path = "/" + fs::relative(d, rootfs_).string();
    const bool mounted = path == "/var/lib/mailhook" || path.starts_with("/dev") ||
                         path.starts_with("/proc") || path.starts_with("/sys") ||
                         std::any_of(read_only_dirs.begin(), read_only_dirs.end(),
                                     [&](const auto& ro) { return path.starts_with(ro); });
    if (mounted) continue;
    struct stat dir {};
    ASSERT_EQ(::lstat(d.c_str(), &dir), 0) << path;
    EXPECT_TRUE(dir.st_uid == 0 && (dir.st_mode & 0022) == 0)
        << path << " is writable by the daemon's user";
  }

  auto headers = genuine.headers;
  headers["Content-Type"] = "application/json";
  http_client client("127.0.0.1", webhook_port);
  auto reply = client.post("/webhooks/sendgrid/sample", genuine.body, headers);
  ASSERT_EQ(reply.status, 200) << reply.body << "\n" << container.output();
  EXPECT_EQ(reply.body, R"({"accepted":1,"dead_lettered":0})");

  auto records = read_topic(bootstrap, events_topic, 1, 30s);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, "acme/hello@world.com");
  v1::EmailEvent event;
  ASSERT_TRUE(event.ParseFromString(records[0].value));
  EXPECT_EQ(event.type(), v1::EVENT_TYPE_DROPPED);
  EXPECT_EQ(event.sg_event_id(), "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA");

  // A container runtime's stop: SIGTERM to the container's process, not to buildah (which
  // would kill its command outright).
  const auto stopping = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(daemon_pid, SIGTERM), 0);
  auto status = container.wait(drain_bound);
  ASSERT_TRUE(status) << "still running " << drain_bound.count() << " s after SIGTERM\n"
                      << container.output();
  EXPECT_EQ(*status, 0) << container.output();
  EXPECT_TRUE(container.wait_for_line(std::regex(R"(info stopped$)"), 5s)) << container.output();
  std::cout << "drained and exited in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - stopping)
                   .count()
            << " ms\n";

  // Its state went to the volume.
  EXPECT_TRUE(fs::is_directory(volume / "index")) << volume;
}

}  // namespace
}  // namespace mailhook::testing
