"""``python -m services.retriever``: run the retriever until SIGINT/SIGTERM."""

from services.retriever.app import create_app
from services.retriever.settings import RetrieverSettings
from shared.service import read_settings, run


def main() -> None:
    settings = read_settings(RetrieverSettings)
    run(lambda: create_app(settings), "retriever", settings.log_level)


if __name__ == "__main__":
    main()
