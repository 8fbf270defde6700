"""``python -m services.domain``: serve one domain (``ACCEL_DOMAIN``) until SIGINT/SIGTERM."""

from services.domain.app import create_app
from services.domain.settings import DomainSettings
from shared.service import read_settings, run


def main() -> None:
    settings = read_settings(DomainSettings)  # ACCEL_DOMAIN comes from the environment
    run(lambda: create_app(settings), f"domain-{settings.domain}", settings.log_level)


if __name__ == "__main__":
    main()
