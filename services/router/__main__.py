"""``python -m services.router``: run the router until SIGINT/SIGTERM."""

from services.router.app import create_app
from services.router.settings import RouterSettings
from shared.service import read_settings, run


def main() -> None:
    settings = read_settings(RouterSettings)
    run(lambda: create_app(settings), "router", settings.log_level)


if __name__ == "__main__":
    main()
