"""Exchange cmdlets for the sandbox's admin API: parameter binding and Exchange's errors.

Errors mimic what InvokeCommand really returns (bodies captured from live tenants
and published in open-source clients): binding problems are HTTP 400 "BadRequest" /
"Invalid Operation" with the PowerShell exception in `innererror.internalexception`;
a failing cmdlet is "Error executing cmdlet" with `details[0].message` formatted
`<ErrorId>|<ExceptionType>|<text>` (ErrorId empty where we know no real one).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from wizard.sandbox.tenant import TenantState

# Where "couldn't be found on ..." says the lookup ran, as Exchange Online names its DCs.
DOMAIN_CONTROLLER = "AM6PR01A03DC001.EURPR01A003.PROD.OUTLOOK.COM"
ODATA_EXCEPTION = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
NOT_FOUND_TYPE = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
# Parameters PowerShell adds to every cmdlet; accepted and ignored over REST.
COMMON_PARAMETERS = frozenset(
    {"confirm", "erroraction", "warningaction", "verbose", "debug", "whatif", "force"}
)


class CmdletError(Exception):
    """An error InvokeCommand reports for a cmdlet, with the HTTP status it comes with."""

    def __init__(
        self,
        text: str,
        exc_type: str,
        *,
        status: int = 400,
        code: str = "BadRequest",
        error_id: str = "",
        binding: bool = False,
        with_details: bool = True,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.exc_type = exc_type
        self.status = status
        self.code = code
        self.error_id = error_id
        self.binding = binding
        self.with_details = with_details

    @property
    def message(self) -> str:
        return "Invalid Operation" if self.binding else "Error executing cmdlet"

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.with_details:
            error["details"] = [
                {
                    "code": "Client",
                    "target": "",
                    "message": f"{self.error_id}|{self.exc_type}|{self.text}",
                }
            ]
        inner: dict[str, Any] = {"message": self.message, "type": ODATA_EXCEPTION, "stacktrace": ""}
        if self.binding:
            inner["internalexception"] = {
                "message": self.text,
                "type": self.exc_type,
                "stacktrace": "",
            }
        error["innererror"] = inner
        return {"error": error}


def not_found(identity: str) -> CmdletError:
    return CmdletError(
        f"The operation couldn't be performed because object '{identity}' couldn't be found "
        f"on '{DOMAIN_CONTROLLER}'.",
        NOT_FOUND_TYPE,
        status=404,
        code="NotFound",
        error_id="Ex6F9304",
    )


def invalid(
    text: str, exc_type: str = "Microsoft.Exchange.Management.Tasks.ValidationException"
) -> CmdletError:
    return CmdletError(text, exc_type)


def unknown_cmdlet(name: str) -> CmdletError:
    return CmdletError(
        f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, "
        "or operable program. Check the spelling of the name, or if a path was included, "
        "verify that the path is correct and try again.",
        "System.Management.Automation.CommandNotFoundException",
        binding=True,
    )


def unknown_parameters(names: list[str]) -> CmdletError:
    return CmdletError(
        "Parameter set cannot be resolved using the specified named parameters. Invalid cmdlet "
        f"parameters specified. {', '.join(names)}",
        "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException",
        binding=True,
    )


def missing_parameters(names: list[str]) -> CmdletError:
    return CmdletError(
        "Cannot process command because of one or more missing mandatory parameters: "
        f"{' '.join(names)}.",
        "System.Management.Automation.ParameterBindingException",
        binding=True,
    )


def _transformation(name: str, detail: str) -> CmdletError:
    # Exchange sends these with no `details`, only innererror.internalexception.
    return CmdletError(
        f"Cannot process argument transformation on parameter '{name}'. {detail}",
        "Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException",
        binding=True,
        with_details=False,
    )


class Kind(Enum):
    STR = "System.String"
    BOOL = "System.Boolean"
    INT = "System.Int32"
    STRLIST = "Microsoft.Exchange.Data.MultiValuedProperty"
    DATETIME = "System.DateTime"
    SWITCH = "System.Management.Automation.SwitchParameter"
    ENUM = "enum"
    # Sent encrypted with the module file's public key (exo_module.py), never as text.
    SECURE_STRING = "System.Security.SecureString"


@dataclass(frozen=True)
class Param:
    kind: Kind
    mandatory: bool = False
    nullable: bool = False  # `$null` is a meaningful value (e.g. "inherit")
    choices: tuple[str, ...] = ()
    type_name: str = ""  # the .NET enum type, named in conversion errors
    hashtable: bool = False  # accepts @{Add=...; Remove=...}


@dataclass(frozen=True)
class ListChange:
    """@{Add=...; Remove=...} for a multi-valued parameter."""

    add: tuple[str, ...]
    remove: tuple[str, ...]

    def apply(self, current: list[str]) -> list[str]:
        removed = {r.lower() for r in self.remove}
        result = [c for c in current if c.lower() not in removed]
        for value in self.add:
            if value.lower() not in {r.lower() for r in result}:
                result.append(value)
        return result


Decrypt = Callable[[str], str | None]


def _no_key(_value: str) -> str | None:
    return None


def secure_string_refused(name: str) -> CmdletError:
    """A SecureString parameter that is not encrypted with the module file's key.

    The wording is NOT confirmed by any public source: no capture of Exchange's answer to
    a plain-text (or wrongly encrypted) SecureString over InvokeCommand was found. It takes
    the shape Exchange gives its other argument transformation failures (no `details`,
    innererror.internalexception; see `_transformation`) and never repeats the value.
    """
    return _transformation(
        name,
        "The value could not be decrypted. Sensitive parameter values must be encrypted "
        "with the public key of the module the service provided for this session.",
    )


def _convert(name: str, spec: Param, value: Any, decrypt: Decrypt = _no_key) -> Any:
    if spec.kind is Kind.SECURE_STRING and value is not None:
        plain = decrypt(value) if isinstance(value, str) else None
        if plain is None:
            raise secure_string_refused(name)
        return plain
    if value is None:
        if spec.nullable or spec.kind is Kind.SWITCH:
            return None if spec.kind is not Kind.SWITCH else True
        raise CmdletError(
            f"Cannot bind argument to parameter '{name}' because it is null.",
            "System.Management.Automation.ParameterBindingValidationException",
            binding=True,
        )
    if spec.kind in (Kind.BOOL, Kind.SWITCH):
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise _transformation(
            name,
            f'Cannot convert value "{_net_type(value)}" to type "System.Boolean". Boolean '
            "parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.",
        )
    if spec.kind is Kind.INT:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise _transformation(name, f'Cannot convert value "{value}" to type "System.Int32".')
        try:
            return int(value)
        except ValueError:
            raise _transformation(
                name,
                f'Cannot convert value "{value}" to type "System.Int32". Error: "Input string '
                'was not in a correct format."',
            ) from None
    if spec.kind is Kind.STR:
        if isinstance(value, (list, dict)):
            raise _transformation(
                name,
                f"Cannot convert 'System.Object[]' to the type 'System.String' required by "
                f"parameter '{name}'. Specified method is not supported.",
            )
        return str(value)
    if spec.kind is Kind.ENUM:
        text = str(value)
        for choice in spec.choices:
            if choice.lower() == text.lower():
                return choice
        raise _transformation(
            name,
            f'Cannot convert value "{text}" to type "{spec.type_name}". Error: "Unable to match '
            f"the identifier name {text} to a valid enumerator name. Specify one of the following "
            f'enumerator names and try again: {", ".join(spec.choices)}"',
        )
    if spec.kind is Kind.STRLIST:
        if isinstance(value, dict) and spec.hashtable:

            def items(key: str) -> tuple[str, ...]:
                found = next((v for k, v in value.items() if k.lower() == key), None)
                if found is None:
                    return ()
                return tuple(str(x) for x in (found if isinstance(found, list) else [found]))

            return ListChange(items("add"), items("remove"))
        if isinstance(value, list):
            return [str(v) for v in value]
        if isinstance(value, dict):
            raise _transformation(
                name,
                'Cannot convert the "System.Collections.Hashtable" value to type '
                f'"{spec.kind.value}".',
            )
        return [str(value)]
    if spec.kind is Kind.DATETIME:
        return parse_datetime(name, value)
    raise AssertionError(spec.kind)


def _net_type(value: Any) -> str:
    if isinstance(value, str):
        return "System.String"
    if isinstance(value, list):
        return "System.Object[]"
    if isinstance(value, dict):
        return "System.Collections.Hashtable"
    if isinstance(value, float):
        return "System.Double"
    return "System.Int32"


def parse_datetime(name: str, value: Any) -> datetime:
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _transformation(
            name,
            f'Cannot convert value "{text}" to type "System.DateTime". Error: "String was not '
            'recognized as a valid DateTime."',
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def bind(
    params: dict[str, Param], given: dict[str, Any], decrypt: Decrypt = _no_key
) -> dict[str, Any]:
    """Match given parameters to a cmdlet's (case-insensitive) and convert their values.

    `decrypt` turns an encrypted SecureString value into its text (None: not one).
    """
    by_lower = {n.lower(): n for n in params}
    unknown = [k for k in given if k.lower() not in by_lower and k.lower() not in COMMON_PARAMETERS]
    if unknown:
        raise unknown_parameters(unknown)
    bound: dict[str, Any] = {}
    for key, value in given.items():
        canonical = by_lower.get(key.lower())
        if canonical is None:
            continue
        bound[canonical] = _convert(canonical, params[canonical], value, decrypt)
    missing = [n for n, p in params.items() if p.mandatory and n not in bound]
    if missing:
        raise missing_parameters(missing)
    return bound


@dataclass
class Context:
    state: TenantState
    caller: str  # UPN of the signed-in admin
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Result:
    value: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cmdlet:
    name: str
    params: dict[str, Param]
    run: Callable[[Context, dict[str, Any]], Result]


def no_change_warning(identity: str) -> str:
    return f"The command completed successfully but no settings of '{identity}' have been modified."


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


_DOMAIN_RE = re.compile(r"^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def valid_domain(value: str, *, wildcard: bool = True) -> bool:
    value = value.strip().lower()
    if wildcard and value == "*":
        return True
    if not wildcard and value.startswith("*."):
        return False
    return bool(_DOMAIN_RE.match(value))


def check_sender_ip(value: str) -> str | None:
    """Exchange's rule for connector IPs; None when fine, else the problem."""
    try:
        if "/" in value:
            network = ipaddress.ip_network(value, strict=False)
            if network.version != 4:
                return f"IPv6 addresses aren't supported. The value '{value}' isn't valid."
            if not 24 <= network.prefixlen <= 32:
                return (
                    f"The IP address range '{value}' isn't valid. Use a single IPv4 address or a "
                    "CIDR range from /24 to /32."
                )
            return None
        address = ipaddress.ip_address(value)
    except ValueError:
        return f"'{value}' isn't a valid IPv4 address or CIDR range."
    if address.version != 4:
        return f"IPv6 addresses aren't supported. The value '{value}' isn't valid."
    return None
