"""ID photos (PicWish, else the local engine).

The service object is in ``service.py``, the dialog in ``dialog.py``, the local engine's free
preview bought or left in ``preview.py``, the free re-edits of a finished photo in ``reedit.py``,
captions, checklists and the finished photo's presentation in ``captions.py``, what the dialog
keeps in the session in ``state.py``. This file imports nothing: ``photobot idphoto`` reads the
captions and the spec checks without loading the dialogs and python-telegram-bot's handlers.
"""
