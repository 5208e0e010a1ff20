"""`relay run --windows-service`: answer the Windows Service Control Manager.

A program started by the SCM must call StartServiceCtrlDispatcher within 30 seconds,
report SERVICE_RUNNING, and stop when asked; otherwise Windows kills it (error 1053).
This is that handshake with ctypes and advapi32 (Microsoft Learn, "Service
ServiceMain Function", "SetServiceStatus", "LPHANDLER_FUNCTION_EX"), so the relay
needs no extra package on Windows. Elsewhere it refuses plainly.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from wizard.core.errors import InvalidInput
from wizard.core.i18n import tr
from wizard.services.relay.service import WINDOWS_NAME

SERVICE_WIN32_OWN_PROCESS = 0x10
SERVICE_START_PENDING = 2
SERVICE_STOP_PENDING = 3
SERVICE_RUNNING = 4
SERVICE_STOPPED = 1
SERVICE_ACCEPT_STOP = 1
SERVICE_ACCEPT_SHUTDOWN = 4
SERVICE_CONTROL_STOP = 1
SERVICE_CONTROL_SHUTDOWN = 5
SERVICE_CONTROL_INTERROGATE = 4


def run_as_windows_service(make_server: Callable[[], Any]) -> int:
    if sys.platform != "win32":
        raise InvalidInput(tr("--windows-service is for the Windows service only."))
    return _run(make_server)


def _run(make_server: Callable[[], Any]) -> int:  # pragma: no cover - Windows only
    import ctypes
    from ctypes import wintypes

    advapi = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]

    class ServiceStatus(ctypes.Structure):
        _fields_ = [
            ("dwServiceType", wintypes.DWORD),
            ("dwCurrentState", wintypes.DWORD),
            ("dwControlsAccepted", wintypes.DWORD),
            ("dwWin32ExitCode", wintypes.DWORD),
            ("dwServiceSpecificExitCode", wintypes.DWORD),
            ("dwCheckPoint", wintypes.DWORD),
            ("dwWaitHint", wintypes.DWORD),
        ]

    handler_type = ctypes.WINFUNCTYPE(  # type: ignore[attr-defined]
        wintypes.DWORD, wintypes.DWORD, wintypes.DWORD, wintypes.LPVOID, wintypes.LPVOID
    )
    main_type = ctypes.WINFUNCTYPE(None, wintypes.DWORD, wintypes.LPVOID)  # type: ignore[attr-defined]

    class TableEntry(ctypes.Structure):
        _fields_ = [("lpServiceName", wintypes.LPWSTR), ("lpServiceProc", main_type)]

    stop = threading.Event()
    status = ServiceStatus(SERVICE_WIN32_OWN_PROCESS, SERVICE_START_PENDING, 0, 0, 0, 0, 30000)
    handle: list[Any] = [None]
    outcome = [0]

    def report(state: int, accepted: int = 0) -> None:
        status.dwCurrentState = state
        status.dwControlsAccepted = accepted
        status.dwCheckPoint += 1
        advapi.SetServiceStatus(handle[0], ctypes.byref(status))

    def control(code: int, event: int, data: Any, context: Any) -> int:
        if code in (SERVICE_CONTROL_STOP, SERVICE_CONTROL_SHUTDOWN):
            report(SERVICE_STOP_PENDING)
            stop.set()
        return 0

    control_fn = handler_type(control)

    def service_main(argc: int, argv: Any) -> None:
        handle[0] = advapi.RegisterServiceCtrlHandlerExW(WINDOWS_NAME, control_fn, None)
        report(SERVICE_START_PENDING)
        try:
            server = make_server().start()
        except Exception:  # noqa: BLE001 - the SCM gets an exit code, the log the reason
            outcome[0] = 1
            status.dwWin32ExitCode = 1064  # ERROR_EXCEPTION_IN_SERVICE
            report(SERVICE_STOPPED)
            return
        report(SERVICE_RUNNING, SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN)
        stop.wait()
        server.stop()
        report(SERVICE_STOPPED)

    main_fn = main_type(service_main)
    table = (TableEntry * 2)(TableEntry(WINDOWS_NAME, main_fn), TableEntry(None, main_type()))
    if not advapi.StartServiceCtrlDispatcherW(table):
        raise InvalidInput(
            tr("--windows-service works only when Windows starts the relay as a service."),
            detail=f"StartServiceCtrlDispatcherW error {ctypes.get_last_error()}",  # type: ignore[attr-defined]
        )
    return outcome[0]
