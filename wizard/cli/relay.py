"""`relay`: the local relay for devices that cannot sign in with OAuth.

    relay-wizard relay init --site S --listen IP --hostname H --tenant T --client-id C
    relay-wizard relay add-device --name N --ip IP --sender ADDR [--username U]
    relay-wizard relay sign-in --mailbox ADDR [--browser]   keep the mailbox's sign-in
    relay-wizard relay run                                  in the foreground (Ctrl-C)
    relay-wizard relay status [--json]
    relay-wizard relay test --device USER --to ADDR [--ca-file relay-ca.pem]
    relay-wizard relay install-service [--system] / remove-service [--system]
    relay-wizard relay remove-device USER

Every action takes --config FILE (default: the relay.json in the app's settings
folder). Passwords are shown once by add-device and otherwise stay in the OS keyring.

Exit codes: 0 all good; 1 problems found (status: not running, mail held or failed);
2 bad usage or input; 3 could not reach a service (the relay, Microsoft 365).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wizard.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, add_cloud_option

STATUS_SCHEMA = 1


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "relay",
        help="the local relay for devices that cannot sign in with OAuth",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="relay_action", metavar="ACTION")
    p.set_defaults(handler=_no_action)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        a: argparse.ArgumentParser = actions.add_parser(name, help=help, description=help)
        a.add_argument("--config", metavar="FILE", type=Path, help="the relay's settings file")
        return a

    a = action("init", "write the relay's settings file")
    a.add_argument("--site", required=True, help="the site's name, e.g. 'Contoso HQ'")
    a.add_argument("--listen", required=True, metavar="IP", help="this computer's LAN address")
    a.add_argument("--hostname", required=True, help="this computer's name on the network")
    a.add_argument("--tenant", required=True, help="the tenant's ID or domain")
    a.add_argument("--client-id", required=True, help="the app registration with SMTP.Send")
    a.add_argument("--plain-port", type=int, metavar="PORT", help="also plain SMTP (opt-in)")
    a.add_argument("--data-dir", metavar="DIR", help="queue, certificate and log folder")
    a.add_argument("--admin-report", metavar="ADDR", help="who hears of failed messages")
    add_cloud_option(a)
    a.set_defaults(handler=_init)

    a = action("add-device", "let a device send through the relay (prints its password once)")
    a.add_argument("--name", required=True)
    a.add_argument("--ip", required=True, help="the device's own address")
    a.add_argument("--sender", required=True, help="the device's mailbox address")
    a.add_argument("--username", help="default: from the sender address")
    a.add_argument("--json", action="store_true")
    a.set_defaults(handler=_add_device)

    a = action("remove-device", "stop accepting a device")
    a.add_argument("username")
    a.set_defaults(handler=_remove_device)

    a = action("sign-in", "sign in as a device's mailbox so the relay can send as it")
    a.add_argument("--mailbox", required=True)
    a.add_argument(
        "--browser", action="store_true", help="this computer's browser instead of a code"
    )
    a.set_defaults(handler=_sign_in)

    a = action("run", "run the relay in the foreground (what the service runs)")
    a.add_argument("--windows-service", action="store_true", help=argparse.SUPPRESS)
    a.set_defaults(handler=_run)

    a = action("status", "is the relay running, what is queued, failed, held")
    a.add_argument("--json", action="store_true")
    a.set_defaults(handler=_status)

    a = action("test", "send a test message through the relay the way the device will")
    a.add_argument("--device", required=True, metavar="USER", help="the device's user name")
    a.add_argument("--to", required=True)
    a.add_argument("--ca-file", help="verify the relay with its CA (relay-ca.pem)")
    a.add_argument("--plain", action="store_true", help="use the plain port, no STARTTLS")
    a.set_defaults(handler=_test)

    a = action("install-service", "run the relay as a service, started at boot")
    a.add_argument("--system", action="store_true", help="a system service (administrator)")
    a.set_defaults(handler=_install)

    a = action("remove-service", "stop and remove the relay service")
    a.add_argument("--system", action="store_true")
    a.set_defaults(handler=_remove)


def _no_action(args: argparse.Namespace) -> int:
    print("error: choose an action, e.g. `relay status` (see `relay --help`).", file=sys.stderr)
    return EXIT_USAGE


def _path(args: argparse.Namespace) -> Path:
    from wizard.services.relay import default_config_path

    path: Path | None = args.config
    return path or default_config_path()


def _store() -> Any:
    from wizard.services.secrets import SecretStore

    return SecretStore()


def _init(args: argparse.Namespace) -> int:
    from wizard.core.clouds import cloud_by_id
    from wizard.core.errors import InvalidInput
    from wizard.core.relay import OnwardTarget, RelayConfig, validate
    from wizard.services.relay import save_config

    cloud = cloud_by_id(args.cloud)
    if cloud is None:
        raise InvalidInput(f"unknown cloud {args.cloud}")
    config = RelayConfig(
        site=args.site,
        listen_address=args.listen,
        hostname=args.hostname,
        onward=OnwardTarget.from_cloud(cloud, args.tenant, args.client_id),
        plain_port=args.plain_port,
        data_dir=args.data_dir or "",
        admin_report_address=args.admin_report,
    )
    problems = validate(config)
    if problems:
        for problem in problems:
            print(f"error: {problem.field}: {problem.message}", file=sys.stderr)
        return EXIT_USAGE
    path = save_config(config, _path(args))
    print(f"Relay settings written to {path}.")
    print("Next: relay add-device, then relay sign-in --mailbox for each device's mailbox.")
    return EXIT_OK


def _add_device(args: argparse.Namespace) -> int:
    from wizard.cli import print_json
    from wizard.services.relay import add_device, load_config, save_config

    path = _path(args)
    config = load_config(path)
    config, device, password = add_device(
        config, _store(), name=args.name, ip=args.ip, sender=args.sender, username=args.username
    )
    save_config(config, path)
    if args.json:
        print_json(
            {
                "schema_version": STATUS_SCHEMA,
                "device": device.to_dict(),
                "password": password,
                "relay": {
                    "host": config.listen_address,
                    "port": config.submission_port,
                    "security": "STARTTLS",
                },
            }
        )
        return EXIT_OK
    print(f"Device '{device.name}' may send from {device.ip} as {device.sender}.")
    print(f"  server:    {config.listen_address}  port {config.submission_port}, STARTTLS")
    if config.plain_port:
        print(f"             or port {config.plain_port} without TLS (opted in)")
    print(f"  user name: {device.username}")
    print(f"  password:  {password}")
    print("The password is shown only now; it is kept in this computer's keyring.")
    print("A running relay picks the device up when it is restarted.")
    return EXIT_OK


def _remove_device(args: argparse.Namespace) -> int:
    from wizard.services.relay import load_config, remove_device, save_config

    path = _path(args)
    config = remove_device(load_config(path), _store(), args.username)
    save_config(config, path)
    print(f"The relay no longer accepts '{args.username}' (after its next restart).")
    return EXIT_OK


def _sign_in(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from wizard.core.clouds import CloudApps, cloud_by_id
    from wizard.core.errors import InvalidInput
    from wizard.services.relay import enroll_mailbox, load_config
    from wizard.services.signin import SignIn, SignInSettings

    config = load_config(_path(args))
    cloud = cloud_by_id(config.onward.cloud)
    if cloud is None or cloud.is_sandbox:
        raise InvalidInput(
            "The sandbox relay signs in from the wizard (--demo); this command is for a "
            "real tenant."
        )
    cloud = replace(cloud, apps=CloudApps(mailbox_test=config.onward.client_id))
    signin = SignIn(cloud, SignInSettings(tenant=config.onward.tenant))
    if args.browser:
        signin.sign_in_browser(mailbox=args.mailbox)
    else:
        code = signin.start_device_code(mailbox=args.mailbox)
        print(code.message or f"Open {code.verification_uri} and enter {code.user_code}.")
        sys.stdout.flush()
        signin.finish_device_code(code)
    token = signin.mailbox_refresh_token(args.mailbox)
    enroll_mailbox(config, _store(), token or "", args.mailbox)
    print(f"The relay may now send as {args.mailbox}; its sign-in is kept in the keyring.")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from wizard.services.relay import RelayServer, load_config

    path = _path(args)
    config = load_config(path)
    if args.windows_service:
        from wizard.services.relay.winservice import run_as_windows_service

        return run_as_windows_service(lambda: RelayServer(config, config_path=path))
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, on_signal)
    server = RelayServer(config, config_path=path).start()
    print("Relay running: " + ", ".join(server.status().listening), flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
    print("Relay stopped.", flush=True)
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from wizard.cli import print_json
    from wizard.services.relay import load_config, relay_status

    path = _path(args)
    config = load_config(path)
    status = relay_status(config, path)
    held = sorted(m for m, state in status.tokens.items() if state != "ok")
    problems = not status.running or bool(held) or status.failed > 0
    if args.json:
        print_json({"schema_version": STATUS_SCHEMA, **status.to_dict(), "held": held})
        return EXIT_PROBLEMS if problems else EXIT_OK
    print(f"Relay: {'running' if status.running else 'not running'}")
    for line in status.listening:
        print(f"  listening on {line}")
    print(f"  queued: {status.queued}   failed: {status.failed}")
    if status.last_delivery:
        from email.utils import formatdate

        print(f"  last delivery: {formatdate(status.last_delivery, localtime=True)}")
    for mailbox, state in sorted(status.tokens.items()):
        print(f"  {mailbox}: sign-in {state}")
    if status.last_error:
        print(f"  last error: {status.last_error}")
    return EXIT_PROBLEMS if problems else EXIT_OK


def _test(args: argparse.Namespace) -> int:
    from wizard.core.errors import InvalidInput
    from wizard.core.relay import device_password_purpose
    from wizard.services.relay import load_config, send_through_relay

    config = load_config(_path(args))
    device = config.device_for_username(args.device)
    if device is None:
        raise InvalidInput(f"The relay has no device with the user name '{args.device}'.")
    password = _store().get(config.site, device_password_purpose(device.username))
    if not password:
        raise InvalidInput(f"No password for '{device.username}' in this computer's keyring.")
    result = send_through_relay(
        config, device, password, to=args.to, ca_file=args.ca_file, starttls=not args.plain
    )
    print(f"The relay accepted the test message: {result.reply}")
    print(f"  Message-ID: {result.message_id}")
    print("Check `relay status` for its delivery to Microsoft 365.")
    return EXIT_OK


def _install(args: argparse.Namespace) -> int:
    from wizard.services.relay import install_service, load_config, service_manager

    path = _path(args)
    load_config(path)  # a service that cannot start helps nobody: check first
    written = install_service(path, manager=service_manager(system=args.system))
    print(f"The relay service is installed ({written}) and started.")
    return EXIT_OK


def _remove(args: argparse.Namespace) -> int:
    from wizard.services.relay import remove_service, service_manager

    remove_service(manager=service_manager(system=args.system))
    print("The relay service is stopped and removed.")
    return EXIT_OK
