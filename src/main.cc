// mailhook: SendGrid event webhooks into Kafka, a suppression index, and sending.
// Everything is built in src/app/; see README.md for where to start.
#include "app/cli.h"

int main(int argc, char** argv) {
  return mailhook::app::run_cli(argc, argv);
}
