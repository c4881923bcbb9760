"""`manage.py procrastinate ...`: procrastinate's command, with its `worker` kept running through database outages.

Every subcommand and option is procrastinate's (`manage.py procrastinate --help`);
only `worker` runs under `config.worker.run_supervised`. This command wins
over procrastinate's own because `config` comes before it in INSTALLED_APPS.
"""

from procrastinate import cli
from procrastinate.contrib.django.management.commands.procrastinate import Command as ProcrastinateCommand

from config.worker import run_supervised


async def _supervised_worker(app, **worker_options) -> None:
    queues = worker_options.get("queues")
    cli.print_stderr(f"Launching a supervised worker on {'all queues' if not queues else ', '.join(queues)}")
    await run_supervised(app, **worker_options)


class Command(ProcrastinateCommand):
    def handle(self, *args, **kwargs):
        if kwargs.get("func") is cli.worker_:
            kwargs["func"] = _supervised_worker
        return super().handle(*args, **kwargs)
