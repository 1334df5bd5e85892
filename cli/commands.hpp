#pragma once
// Every subcommand registers itself with setup_<name>() and runs with its own options.

#include "options.hpp"

namespace lims::cli {

Command setup_consume(CLI::App& app);
Command setup_get_image(CLI::App& app);
Command setup_dev_broker(CLI::App& app);
Command setup_simulate(CLI::App& app);
Command setup_demo(CLI::App& app);
Command setup_sync_batch(CLI::App& app);
Command setup_serve(CLI::App& app);
Command setup_bench(CLI::App& app);
Command setup_replay(CLI::App& app);

}  // namespace lims::cli
