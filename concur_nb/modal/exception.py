"""Modal's exception classes, with Modal's base classes (``modal.exception``).

The ones concur_nb itself raises (``InvalidError``, ``FunctionTimeoutError``, ``RemoteError``,
``InputCancellation``, ``NotFoundError``, ...) are the very classes the engine raises, so
``except modal.exception.Error`` catches here what it catches on Modal. The rest exist so that
code naming them imports and catches as it does on Modal; locally most are never raised.
"""

from __future__ import annotations

from .._errors import Error as Error
from .._errors import ExecutionError as ExecutionError
from .._errors import FunctionTimeoutError as FunctionTimeoutError
from .._errors import InputCancellation as InputCancellation
from .._errors import InvalidError as InvalidError
from .._errors import NotFoundError as NotFoundError
from .._errors import RemoteError as RemoteError
from .._errors import TimeoutError as TimeoutError

# Modal's own grpc mix-in (``_GRPCErrorWrapper``) is left out: there is no server here.


class AlreadyExistsError(Error):
    """A named object already exists."""


class AuthError(Error):
    """Authentication failed (never raised locally: there is no server)."""


class InternalError(Error):
    """An internal error of the platform."""


class ConflictError(InvalidError):
    """A request conflicts with the current state."""


class DataLossError(Error):
    """Data was lost."""


class PermissionDeniedError(Error):
    """Not allowed."""


class ResourceExhaustedError(Error):
    """A limit was reached."""


class ServiceError(Error):
    """The service failed."""


class UnimplementedError(Error):
    """Not implemented."""


class WorkspaceManagementError(Error):
    """A workspace operation failed."""


class SandboxTimeoutError(TimeoutError):
    """A sandbox ran past its timeout."""


class SnapshotCreationError(Error):
    """A memory snapshot could not be made."""


class ExecTimeoutError(TimeoutError):
    """A command in a sandbox ran past its timeout."""


class SandboxTerminatedError(Error):
    """A sandbox was terminated."""


class MountUploadTimeoutError(TimeoutError):
    """A mount upload took too long."""


class VolumeUploadTimeoutError(TimeoutError):
    """A volume upload took too long."""


class LogsFetchError(Error):
    """Logs could not be fetched."""


class InteractiveTimeoutError(TimeoutError):
    """An interactive session timed out."""


class OutputExpiredError(TimeoutError):
    """A call's output is no longer kept."""


class ConnectionError(Error):
    """The connection to the platform failed."""


class VersionError(Error):
    """The client version is not supported."""


class DeserializationError(Error):
    """A value could not be deserialized."""


class SerializationError(Error):
    """A value could not be serialized."""


class RequestSizeError(Error):
    """A request was too large."""


class DeprecationError(UserWarning):
    """A deprecated feature was used."""


class ServerWarning(UserWarning):
    """A warning from the platform."""


class AsyncUsageWarning(UserWarning):
    """A blocking call was made from async code."""


class InternalAPIWarning(UserWarning):
    """An internal API was used."""


class InternalFailure(Error):
    """A retriable internal failure."""


class ModuleNotMountable(Exception):
    """A module cannot be mounted."""


class ClientClosed(Error):
    """The client was closed."""


class SandboxFilesystemError(Error):
    """A sandbox filesystem operation failed."""


class SandboxFilesystemNotFoundError(SandboxFilesystemError):
    """No such file in the sandbox."""


class SandboxFilesystemDirectoryNotEmptyError(SandboxFilesystemError):
    """The sandbox directory is not empty."""


class SandboxFilesystemIsADirectoryError(SandboxFilesystemError):
    """The sandbox path is a directory."""


class SandboxFilesystemNotADirectoryError(SandboxFilesystemError):
    """The sandbox path is not a directory."""


class SandboxFilesystemPermissionError(SandboxFilesystemError):
    """Not allowed in the sandbox."""


class SandboxFilesystemFileTooLargeError(SandboxFilesystemError):
    """The sandbox file is too large."""


class SandboxFilesystemPathAlreadyExistsError(SandboxFilesystemError):
    """The sandbox path already exists."""


class ImageBuildError(RemoteError):
    """An image failed to build (never locally: images are stand-ins)."""


class UserCodeException(Exception):
    """Wraps an exception of user code (deprecated in Modal; kept for imports)."""
