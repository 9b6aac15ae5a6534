"""The kiosk's screens; each rebuilds itself from the window's state."""

from kiosk.screens.base import Context, Screen
from kiosk.screens.guide import GuideScreen
from kiosk.screens.home import HomeScreen
from kiosk.screens.identify import IdentifyScreen
from kiosk.screens.items import ItemsScreen
from kiosk.screens.message import MessageScreen
from kiosk.screens.staff import StaffScreen
from kiosk.screens.ticket import TicketScreen

SCREENS: tuple[type[Screen], ...] = (
    HomeScreen,
    ItemsScreen,
    GuideScreen,
    IdentifyScreen,
    StaffScreen,
    TicketScreen,
    MessageScreen,
)

__all__ = [
    "SCREENS",
    "Context",
    "GuideScreen",
    "HomeScreen",
    "IdentifyScreen",
    "ItemsScreen",
    "MessageScreen",
    "Screen",
    "StaffScreen",
    "TicketScreen",
]
