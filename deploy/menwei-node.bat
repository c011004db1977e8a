@echo off
rem Start the Menwei gate node and open its desk in the browser.
rem Put this file in the Menwei folder (C:\Menwei, holding venv\ and node\; see deploy\windows.md),
rem and a shortcut to it on the desktop and in the Startup folder (Win+R, shell:startup).
rem Closing this window stops the node; if the node stops by itself it is started again.
setlocal
if "%MENWEI_HOME%"=="" set "MENWEI_HOME=%~dp0"
if "%MENWEI_HOME:~-1%"=="\" set "MENWEI_HOME=%MENWEI_HOME:~0,-1%"
set "MENWEI_DATA_DIR=%MENWEI_HOME%\node"
set "MENWEI_EXE=%MENWEI_HOME%\venv\Scripts\menwei.exe"
if not exist "%MENWEI_EXE%" (
  echo Menwei is not installed in %MENWEI_HOME%\venv - see deploy\windows.md
  pause
  exit /b 1
)
title Menwei gate node - keep this window open
rem The desk opens once the node answers, a few seconds after starting.
start "" /b cmd /c "ping -n 6 127.0.0.1 >nul & start "" http://127.0.0.1:8701/"
:run
"%MENWEI_EXE%" node run --host 127.0.0.1 --port 8701 --data-dir "%MENWEI_DATA_DIR%"
echo.
echo The node stopped (%date% %time%). Starting it again in 10 seconds; close this window to stop it.
timeout /t 10 /nobreak >nul
goto run
