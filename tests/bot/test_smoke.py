from tests.conftest import portrait_jpeg


async def test_photo_to_id_photo(bot, telegram, picwish):
    user = telegram.user()
    await user.send_text("/start")
    await user.next_message("Send me a photo")
    await user.send_photo(portrait_jpeg())
    menu = await user.next_message("What would you like")
    await user.press(menu, "ID photo")
    await user.edited(menu, "Choose a category")
    await user.press(menu, "Visa")
    await user.edited(menu, "Choose a spec")
    await user.press(menu, "USA Visa")
    await user.edited(menu, "background colour")
    await user.press(menu, "White")
    await user.edited(menu, "Options")
    await user.press(menu, "Continue")
    await user.edited(menu, "Price: 6 credits")
    await user.press(menu, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    print(document.filename, len(document.data))
    await user.edited(menu, "Done")
