// lims: stream LIMS image changes from Kafka into the consumer image store, and the tools
// around it. main() wires the subcommands together and maps errors to exit codes.

#include <exception>
#include <vector>

#include "commands.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/process.hpp"

int main(int argc, char** argv) {
  using lims::ExitCode;
  if (!lims::follow_parent()) return static_cast<int>(ExitCode::failure);
  lims::tune_allocator();
  CLI::App app{
      "lims: keeps the LIMS Consumer Image DB in sync with the producer by streaming the\n"
      "image change events from Kafka (topics potato, tomato, pepper) into a store.\n\n"
      "Exit codes: 0 ok, 1 failure (get-image: no such image), 2 usage error,\n"
      "3 broker or store unreachable, 4 a bad record under --on-bad-record fail.",
      "lims"};
  app.set_version_flag("--version", LIMS_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn, error or off")
      ->envname("LIMS_LOG_LEVEL")
      ->capture_default_str();

  std::vector<lims::cli::Command> commands = {
      lims::cli::setup_consume(app),    lims::cli::setup_get_image(app),
      lims::cli::setup_dev_broker(app), lims::cli::setup_simulate(app),
      lims::cli::setup_demo(app),       lims::cli::setup_sync_batch(app),
      lims::cli::setup_serve(app),      lims::cli::setup_bench(app),
      lims::cli::setup_replay(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help, version or the usage error
    return code == 0 ? 0 : static_cast<int>(ExitCode::usage);
  }

  try {
    lims::log::set_level(lims::log::parse_level(log_level));
    for (const auto& command : commands)
      if (command.app->parsed()) return command.run();
  } catch (const lims::Error& e) {
    lims::log::error(e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    lims::log::error(e.what());
    return static_cast<int>(ExitCode::failure);
  }
  return static_cast<int>(ExitCode::usage);
}
