"""``python -m services.aggregator``: run the aggregator until SIGINT/SIGTERM."""

from services.aggregator.app import create_app
from services.aggregator.settings import AggregatorSettings
from shared.service import read_settings, run


def main() -> None:
    settings = read_settings(AggregatorSettings)
    run(lambda: create_app(settings), "aggregator", settings.log_level)


if __name__ == "__main__":
    main()
